import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToBinaryString } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';

describe('bytesToBinaryString', () => {
  it('gives one char per byte, for every length and offset (20 bytes has its own path)', () => {
    const random = new SeededRandom(20);
    const bytes = random.bytes(64);
    for (let start = 0; start < 4; start++) {
      for (let end = start; end <= start + 40; end++) {
        const s = bytesToBinaryString(bytes, start, end);
        assert.equal(s.length, end - start, `${start}..${end}`);
        for (let i = 0; i < s.length; i++) assert.equal(s.charCodeAt(i), bytes[start + i]);
      }
    }
  });

  it('is lossless for all 256 byte values', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(Buffer.from(bytesToBinaryString(all), 'latin1'), Buffer.from(all));
    const twenty = Uint8Array.from({ length: 20 }, (_, i) => 0xec + i);
    assert.deepEqual(Buffer.from(bytesToBinaryString(twenty), 'latin1'), Buffer.from(twenty));
  });
});
