import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asNodeId,
  bitAt,
  commonPrefixLength,
  compareDistance,
  log2Distance,
  randomIdWithPrefix,
  rankLog2Distance,
  xor,
} from '../../src/kademlia/id.js';
import { SeededRandom } from '../../src/util/random.js';

describe('node ids', () => {
  it('compares XOR distance', () => {
    const target = new Uint8Array([0b1000_0000, 0]);
    const a = new Uint8Array([0b1000_0001, 0]);
    const c = new Uint8Array([0b0000_0000, 0]);
    assert.ok(compareDistance(target, a, c) < 0);
    assert.ok(compareDistance(target, c, a) > 0);
    assert.equal(compareDistance(target, a, a), 0);
    assert.deepEqual(xor(target, a), new Uint8Array([1, 0]));
  });

  it('counts common prefix bits', () => {
    assert.equal(commonPrefixLength(new Uint8Array([0xff, 0]), new Uint8Array([0xff, 0])), 16);
    assert.equal(commonPrefixLength(new Uint8Array([0x80]), new Uint8Array([0x00])), 0);
    assert.equal(commonPrefixLength(new Uint8Array([0xff, 0x80]), new Uint8Array([0xff, 0xc0])), 9);
  });

  it('makes random ids in exactly the requested bucket, for 160 and 256 bit ids', () => {
    const random = new SeededRandom(1);
    for (const length of [20, 32]) {
      const base = random.bytes(length);
      for (let prefix = 0; prefix < length * 8; prefix += 7) {
        const id = randomIdWithPrefix(random, base, prefix);
        assert.equal(commonPrefixLength(id, base), prefix);
        assert.notEqual(bitAt(id, prefix), bitAt(base, prefix));
      }
      assert.deepEqual(randomIdWithPrefix(random, base, length * 8), asNodeId(base));
    }
  });

  it('seeded randomness replays', () => {
    const a = new SeededRandom(42);
    const c = new SeededRandom(42);
    assert.deepEqual(a.bytes(33), c.bytes(33));
    assert.equal(a.float(), c.float());
    const f = a.float();
    assert.ok(f >= 0 && f < 1);
  });
});

describe('log2 distance', () => {
  const id = (first: number, last = 0): Uint8Array => {
    const b = new Uint8Array(20);
    b[0] = first;
    b[19] = last;
    return b;
  };

  it('is exact on powers of two, fractional between them, 0 for equal ids', () => {
    assert.equal(log2Distance(id(0), id(0)), 0);
    assert.equal(log2Distance(id(0), id(0, 1)), 0, 'distance 1: log2 1');
    assert.equal(log2Distance(id(0), id(0, 8)), 3);
    assert.ok(Math.abs(log2Distance(id(0), id(0x80)) - 159) < 1e-9, 'top bit: 2^159');
    assert.ok(Math.abs(log2Distance(id(0), id(0xc0)) - (159 + Math.log2(1.5))) < 1e-9);
    assert.ok(log2Distance(id(0), id(0x40)) < log2Distance(id(0), id(0x41)), 'monotonic');
  });

  it('reads the k-th closest, and nothing when fewer than k', () => {
    const t = id(0);
    const ids = [id(0x80), id(0x01), id(0x10), id(0x40)];
    assert.equal(rankLog2Distance(t, ids, 2), log2Distance(t, id(0x10)));
    assert.equal(rankLog2Distance(t, ids, 4), log2Distance(t, id(0x80)));
    assert.equal(rankLog2Distance(t, ids, 5), undefined);
    assert.equal(rankLog2Distance(t, [], 1), undefined);
  });
});
