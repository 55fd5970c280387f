import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { toHex } from '../../src/util/bytes.js';
import { HmacSha256, sha256 } from '../../src/util/hmac-sha256.js';
import { SeededRandom } from '../../src/util/random.js';

const text = (s: string) => new TextEncoder().encode(s);
const filled = (n: number, b: number) => new Uint8Array(n).fill(b);
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** RFC 4231 section 4: HMAC-SHA-256 test cases. */
const RFC4231: { name: string; key: Uint8Array; data: Uint8Array; mac: string }[] = [
  {
    name: 'case 1',
    key: filled(20, 0x0b),
    data: text('Hi There'),
    mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  },
  {
    name: 'case 2 (key shorter than the output)',
    key: text('Jefe'),
    data: text('what do ya want for nothing?'),
    mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    name: 'case 3 (50 bytes of 0xdd)',
    key: filled(20, 0xaa),
    data: filled(50, 0xdd),
    mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
  },
  {
    name: 'case 4 (key 0x01..0x19)',
    key: range(0x01, 0x19),
    data: filled(50, 0xcd),
    mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  },
  {
    name: 'case 6 (131-byte key, hashed first)',
    key: filled(131, 0xaa),
    data: text('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    name: 'case 7 (131-byte key, 152-byte data)',
    key: filled(131, 0xaa),
    data: text(
      'This is a test using a larger than block-size key and a larger than block-size data. ' +
        'The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('HMAC-SHA256', () => {
  for (const c of RFC4231) {
    it(`matches RFC 4231 ${c.name}`, () => {
      assert.equal(toHex(new HmacSha256(c.key).mac(c.data)), c.mac);
    });
  }

  it('truncates: RFC 4231 case 5 (128 bits)', () => {
    const mac = new HmacSha256(filled(20, 0x0c)).mac(text('Test With Truncation'), 16);
    assert.equal(toHex(mac), 'a3b6167473100ee06e0c796c2955552b');
  });

  it('refuses output lengths outside 1..32', () => {
    const h = new HmacSha256(filled(32, 1));
    for (const bad of [0, 33, -1, 1.5]) assert.throws(() => h.mac(text('x'), bad), RangeError);
  });

  it('agrees with node:crypto for message lengths 0..300 and key lengths 0..200', () => {
    const random = new SeededRandom(4231);
    for (let keyLength = 0; keyLength <= 200; keyLength++) {
      const key = random.bytes(keyLength);
      const h = new HmacSha256(key);
      for (let n = 0; n <= 300; n++) {
        const message = random.bytes(n);
        const want = createHmac('sha256', key).update(message).digest('hex');
        assert.equal(toHex(h.mac(message)), want, `key ${keyLength} bytes, message ${n} bytes`);
      }
    }
  });

  it('gives the same MAC on repeated calls and across interleaved keys (scratch is not state)', () => {
    const a = new HmacSha256(text('key a'));
    const b = new HmacSha256(text('key b'));
    const m = filled(36, 9);
    const first = toHex(a.mac(m));
    b.mac(filled(100, 1));
    assert.equal(toHex(a.mac(m)), first);
    assert.equal(first, createHmac('sha256', text('key a')).update(m).digest('hex'));
  });

  it('hashes with SHA-256 itself for lengths 0..300 (every padding case)', () => {
    const random = new SeededRandom(180);
    for (let n = 0; n <= 300; n++) {
      const data = random.bytes(n);
      assert.equal(toHex(sha256(data)), createHash('sha256').update(data).digest('hex'), `${n} bytes`);
    }
  });
});
