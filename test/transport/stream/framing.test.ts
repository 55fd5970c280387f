import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameReader, FrameWriter, encodeFrame } from '../../../src/transport/stream/framing.js';
import { memoryDuplexPair } from '../../../src/transport/stream/duplex-pair.js';
import { SeededRandom } from '../../../src/util/random.js';

function collect(max?: number): { reader: FrameReader; frames: Uint8Array[]; errors: string[] } {
  const frames: Uint8Array[] = [];
  const errors: string[] = [];
  const reader = new FrameReader(
    (f) => frames.push(new Uint8Array(f)),
    (e) => errors.push(e),
    max,
  );
  return { reader, frames, errors };
}

describe('framing', () => {
  it('parses frames split at every possible point and merged across chunks', () => {
    const random = new SeededRandom(7);
    const bodies = Array.from({ length: 50 }, (_, i) => random.bytes(i * 7));
    const wire = Buffer.concat(bodies.map((b) => encodeFrame(b)));
    for (let trial = 0; trial < 200; trial++) {
      const { reader, frames, errors } = collect();
      let off = 0;
      while (off < wire.length) {
        const n = 1 + random.int(trial % 2 === 0 ? 9 : 400);
        reader.push(wire.subarray(off, off + n));
        off += n;
      }
      assert.deepEqual(errors, []);
      assert.equal(frames.length, bodies.length);
      for (let i = 0; i < bodies.length; i++) assert.deepEqual(frames[i], bodies[i]);
      assert.equal(reader.bufferedBytes, 0);
    }
  });

  it('rejects an oversized length from its prefix alone, before buffering the body', () => {
    const { reader, frames, errors } = collect(1000);
    const prefix = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    reader.push(prefix.subarray(0, 2));
    assert.deepEqual(errors, []);
    reader.push(prefix.subarray(2));
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /4294967295 exceeds the 1000-byte limit/);
    reader.push(new Uint8Array(5000));
    assert.equal(reader.bufferedBytes, 0, 'nothing is buffered after the error');
    assert.equal(frames.length, 0);
    assert.equal(errors.length, 1, 'one error, later input ignored');
  });

  it('accepts a frame of exactly the limit and holds a truncated one without delivering it', () => {
    const { reader, frames, errors } = collect(10);
    reader.push(encodeFrame(new Uint8Array(10)));
    reader.push(encodeFrame(new Uint8Array(10)).subarray(0, 9));
    assert.equal(frames.length, 1);
    assert.deepEqual(errors, []);
    assert.equal(reader.bufferedBytes, 9 - 4);
  });

  it('never throws on random input', () => {
    const random = new SeededRandom(11);
    let delivered = 0;
    for (let i = 0; i < 2000; i++) {
      const reader = new FrameReader(
        () => delivered++,
        () => {},
        random.int(300),
      );
      for (let j = 0; j < 5; j++) {
        const chunk = random.bytes(random.int(64));
        // Half the time a plausible prefix, so frames are delivered, not only rejected.
        if (chunk.length >= 4 && random.float() < 0.5) chunk.set([0, 0, 0, random.int(40)]);
        reader.push(chunk);
      }
    }
    assert.ok(delivered > 0, 'some random prefixes were short enough to deliver');
  });

  it('writer: refuses past its queue bound when the reader stops, then drains', async () => {
    const [a, b] = memoryDuplexPair({ highWaterMark: 1024 });
    const writer = new FrameWriter(a, 8 * 1024);
    b.pause();
    let accepted = 0;
    let refused = false;
    for (let i = 0; i < 1000 && !refused; i++) {
      if (writer.writePrefixed(encodeFrame(new Uint8Array(512)))) accepted++;
      else refused = true;
    }
    assert.ok(refused, 'the bound was reached');
    assert.ok(accepted >= 8 && accepted < 100, `accepted ${accepted} frames of 516 bytes`);
    const drained = new Promise<void>((resolve) => writer.onDrain(resolve));
    const { reader, frames } = collect();
    b.on('data', (chunk: Buffer) => reader.push(chunk));
    b.resume();
    await drained;
    assert.ok(writer.writable);
    await new Promise((r) => setImmediate(r));
    assert.equal(frames.length, accepted);
    a.destroy();
  });
});
