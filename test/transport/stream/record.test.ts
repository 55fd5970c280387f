import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nobleAead, opensslAead } from '../../../src/transport/stream/aead.js';
import { RecordKind, RecordOpener, RecordSealer, splitBatch } from '../../../src/transport/stream/record.js';
import { SeededRandom } from '../../../src/util/random.js';
import { ephemeralFromSecret, x25519SharedSecret } from '../../../src/transport/stream/handshake-messages.js';
import { x25519 } from '@noble/curves/ed25519.js';

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

describe('X25519 (node:crypto) for the handshake', () => {
  const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
  it('matches RFC 7748 section 6.1 and @noble/curves', () => {
    const alice = ephemeralFromSecret(
      hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    );
    const bob = ephemeralFromSecret(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    assert.equal(
      Buffer.from(alice.publicKey).toString('hex'),
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    assert.equal(
      Buffer.from(bob.publicKey).toString('hex'),
      'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    );
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    assert.equal(
      Buffer.from(x25519SharedSecret(alice.secret, bob.publicKey) as Uint8Array).toString('hex'),
      shared,
    );
    assert.equal(
      Buffer.from(x25519SharedSecret(bob.secret, alice.publicKey) as Uint8Array).toString('hex'),
      shared,
    );
    for (let i = 0; i < 5; i++) {
      const secret = random.bytes(32);
      const peer = random.bytes(32);
      assert.deepEqual(ephemeralFromSecret(secret).publicKey, x25519.getPublicKey(secret));
      assert.deepEqual(x25519SharedSecret(secret, peer), x25519.getSharedSecret(secret, peer));
    }
  });

  it('refuses a low-order peer key and a wrong length instead of throwing', () => {
    const secret = random.bytes(32);
    assert.equal(x25519SharedSecret(secret, new Uint8Array(32)), undefined, 'the zero point');
    assert.equal(x25519SharedSecret(secret, Uint8Array.of(1, ...new Uint8Array(31))), undefined, 'order 1');
    assert.equal(x25519SharedSecret(secret, new Uint8Array(31)), undefined, 'short');
  });
});
