import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nobleAead, opensslAead } from '../../../src/transport/stream/aead.js';
import { RecordKind, RecordOpener, RecordSealer, splitBatch } from '../../../src/transport/stream/record.js';
import { SeededRandom } from '../../../src/util/random.js';

const random = new SeededRandom(3);

describe('records', () => {
  it('OpenSSL and noble ChaCha20-Poly1305 agree byte for byte, both ways', () => {
    for (const size of [0, 1, 63, 64, 65, 100, 4096, 70_000]) {
      const key = random.bytes(32);
      const sealers = [
        new RecordSealer(key, 2 ** 48, opensslAead),
        new RecordSealer(key, 2 ** 48, nobleAead),
      ];
      const openers = [
        new RecordOpener(key, 2 ** 48, nobleAead),
        new RecordOpener(key, 2 ** 48, opensslAead),
      ];
      for (let n = 0; n < 3; n++) {
        const body = random.bytes(size);
        const [a, b] = sealers.map((s) => s.seal(RecordKind.Data, body) as Uint8Array) as [
          Uint8Array,
          Uint8Array,
        ];
        assert.deepEqual(a, b, `same ciphertext for ${size} bytes, record ${n}`);
        for (const [i, opener] of openers.entries()) {
          const opened = opener.open((i === 0 ? a : b).slice(4));
          assert.ok(opened, `opens ${size} bytes`);
          assert.equal(opened.kind, RecordKind.Data);
          assert.deepEqual(new Uint8Array(opened.body), body);
        }
      }
    }
  });

  it('a record opens only under its own counter and key', () => {
    const key = random.bytes(32);
    const sealer = new RecordSealer(key);
    const first = sealer.seal(RecordKind.Data, Uint8Array.of(1)) as Uint8Array;
    const second = sealer.seal(RecordKind.Data, Uint8Array.of(2)) as Uint8Array;
    assert.equal(new RecordOpener(key).open(second.slice(4)), undefined, 'out of order');
    assert.equal(new RecordOpener(random.bytes(32)).open(first.slice(4)), undefined, 'other key');
    const opener = new RecordOpener(key);
    assert.ok(opener.open(first.slice(4)));
    assert.equal(opener.open(first.slice(4)), undefined, 'replayed');
    assert.ok(opener.open(second.slice(4)), 'a failure does not advance the counter');
    assert.equal(opener.open(new Uint8Array(5)), undefined, 'shorter than a tag');
  });

  it('stops sealing at its record limit', () => {
    const sealer = new RecordSealer(random.bytes(32), 2);
    assert.ok(sealer.seal(RecordKind.Data, new Uint8Array(1)));
    assert.ok(sealer.seal(RecordKind.Data, new Uint8Array(1)));
    assert.equal(sealer.exhausted, true);
    assert.equal(sealer.seal(RecordKind.Data, new Uint8Array(1)), undefined);
  });

  it('batch records carry bodies that split back exactly; bad tilings are refused', () => {
    const key = random.bytes(32);
    const bodies = [Uint8Array.of(1, 2, 3), new Uint8Array(0), random.bytes(300)];
    const frame = new RecordSealer(key).sealBatch(bodies) as Uint8Array;
    const opened = new RecordOpener(key).open(frame.slice(4));
    assert.equal(opened?.kind, RecordKind.Batch);
    const split = splitBatch(opened.body)?.map((b) => new Uint8Array(b));
    assert.deepEqual(split, bodies);
    assert.equal(splitBatch(Uint8Array.of(0, 0, 0, 5, 1)), undefined, 'length past the end');
    assert.equal(splitBatch(Uint8Array.of(0, 0)), undefined, 'a partial length');
    assert.equal(splitBatch(new Uint8Array(0)), undefined, 'an empty batch');
  });
});
