import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c } from '../../src/protocols/mainline/crc32c.js';
import {
  isSecureId,
  isTrustedId,
  secureIdPrefix,
  secureNodeId,
} from '../../src/protocols/mainline/secure-id.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';

// BEP 42's table: IP, rand, and an example id whose bold parts (first 21 bits, last byte) matter.
const VECTORS = [
  ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
  ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
  ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
  ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
  ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
] as const;

describe('BEP 42 secure node ids', () => {
  it('crc32c matches the standard check value and known inputs', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  });

  for (const [ip, rand, example] of VECTORS) {
    it(`test vector ${ip} rand ${rand}`, () => {
      const expected = fromHex(example) as Uint8Array;
      const crc = secureIdPrefix(ip, rand & 7) as number;
      assert.equal(crc >>> 24, expected[0]);
      assert.equal((crc >>> 16) & 0xff, expected[1]);
      assert.equal((crc >>> 8) & 0xf8, (expected[2] as number) & 0xf8);
      // The spec's example id validates, and so does one we derive with the same rand.
      assert.ok(isSecureId(expected, ip));
      const ours = secureNodeId(ip, new SeededRandom(rand), rand);
      assert.equal(toHex(ours.subarray(0, 2)), example.slice(0, 4));
      assert.equal((ours[2] as number) & 0xf8, (expected[2] as number) & 0xf8);
      assert.equal(ours[19], rand);
      assert.ok(isSecureId(ours, ip));
    });
  }

  it('rejects ids for another IP, a flipped prefix bit, or a different r', () => {
    const id = fromHex(VECTORS[0][2]) as Uint8Array;
    assert.equal(isSecureId(id, '252.31.75.21'), true, 'the top 6 bits of the first octet are masked away');
    assert.equal(isSecureId(id, '124.31.75.22'), false, 'the last octet counts in full');
    assert.equal(isSecureId(id, '21.75.31.124'), false);
    const flipped = id.slice();
    flipped[2] = (flipped[2] as number) ^ 0x08;
    assert.equal(isSecureId(flipped, '124.31.75.21'), false);
    const otherR = id.slice();
    otherR[19] = 2;
    assert.equal(isSecureId(otherR, '124.31.75.21'), false);
    assert.equal(isSecureId(id.subarray(0, 19), '124.31.75.21'), false, 'wrong length');
  });

  it('derives and validates IPv6 ids from the high 64 bits', () => {
    const random = new SeededRandom(7);
    const id = secureNodeId('2001:db8:1234:5678::1', random);
    assert.ok(isSecureId(id, '2001:db8:1234:5678::1'));
    assert.ok(isSecureId(id, '2001:db8:1234:5678:ffff::9'), 'the low 64 bits do not count');
    assert.equal(isSecureId(id, '2001:db9:1234:5678::1'), false);
  });

  it('exempts local ranges but not public ones', () => {
    const random = new SeededRandom(1);
    const arbitrary = random.bytes(20);
    for (const host of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '172.16.0.9', '169.254.1.1', '::1'])
      assert.ok(isTrustedId(arbitrary, host), host);
    assert.equal(isTrustedId(arbitrary, '124.31.75.21'), isSecureId(arbitrary, '124.31.75.21'));
  });
});
