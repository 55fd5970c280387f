import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { toHex } from '../../src/util/bytes.js';
import { KeyedSha256, sha256 } from '../../src/util/sha256.js';
import { SeededRandom } from '../../src/util/random.js';

const text = (s: string) => new TextEncoder().encode(s);
const filled = (n: number, b: number) => new Uint8Array(n).fill(b);
const nodeSha256 = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

describe('SHA-256', () => {
  it('matches the FIPS 180-4 examples', () => {
    assert.equal(
      toHex(sha256(text('abc'))),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(
      toHex(sha256(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    assert.equal(
      toHex(sha256(new Uint8Array(0))),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('agrees with node:crypto for lengths 0..300 (every padding case)', () => {
    const random = new SeededRandom(180);
    for (let n = 0; n <= 300; n++) {
      const data = random.bytes(n);
      assert.equal(toHex(sha256(data)), nodeSha256(data), `${n} bytes`);
    }
  });
});

describe('KeyedSha256 (secret first block)', () => {
  it('is SHA-256 of the secret then the message, for every message length 0..55', () => {
    const random = new SeededRandom(4231);
    for (let s = 0; s < 20; s++) {
      const secret = random.bytes(64);
      const h = new KeyedSha256(secret);
      for (let n = 0; n <= 55; n++) {
        const message = random.bytes(n);
        assert.equal(toHex(h.mac(message)), nodeSha256(secret, message), `secret ${s}, ${n} bytes`);
      }
    }
  });

  it('truncates to the first bytes of the digest', () => {
    const secret = filled(64, 0x5a);
    const message = filled(24, 7);
    const full = nodeSha256(secret, message);
    assert.equal(toHex(new KeyedSha256(secret).mac(message, 8)), full.slice(0, 16));
  });

  it('refuses a secret that is not one block, long messages and bad output lengths', () => {
    for (const n of [0, 32, 63, 65]) assert.throws(() => new KeyedSha256(filled(n, 1)), RangeError);
    const h = new KeyedSha256(filled(64, 1));
    assert.throws(() => h.mac(filled(56, 0)), RangeError);
    for (const bad of [0, 33, -1, 1.5]) assert.throws(() => h.mac(text('x'), bad), RangeError);
  });

  it('gives the same MAC on repeated calls and across interleaved secrets (scratch is not state)', () => {
    const sa = filled(64, 0xa1);
    const sb = filled(64, 0xb2);
    const a = new KeyedSha256(sa);
    const b = new KeyedSha256(sb);
    const m = filled(36, 9);
    const first = toHex(a.mac(m));
    b.mac(filled(50, 1));
    sha256(filled(200, 3));
    assert.equal(toHex(a.mac(m)), first);
    assert.equal(first, nodeSha256(sa, m));
  });
});
