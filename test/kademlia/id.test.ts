import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asNodeId,
  bitAt,
  commonPrefixLength,
  compareDistance,
  randomIdWithPrefix,
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
