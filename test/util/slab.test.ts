import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Slab } from '../../src/util/slab.js';
import { encode } from '../../src/wire/bencode.js';

describe('Slab', () => {
  it('hands out zeroed, non-overlapping arrays of the asked size', () => {
    const slab = new Slab(256);
    const taken: Uint8Array[] = [];
    for (let n = 1; n <= 40; n++) {
      const a = slab.take(n);
      assert.equal(a.length, n);
      assert.ok(a.every((b) => b === 0));
      a.fill(n);
      taken.push(a);
    }
    // Every array still holds what was written to it: nothing was handed out twice.
    taken.forEach((a, i) => assert.ok(a.every((b) => b === i + 1)));
  });

  it('starts a new slab when the current one is full, and keeps 8-byte alignment', () => {
    const slab = new Slab(64);
    const a = slab.take(13);
    const b = slab.take(13);
    assert.equal(a.buffer, b.buffer);
    assert.equal(b.byteOffset % 8, 0);
    const c = slab.take(16);
    const d = slab.take(16);
    assert.equal(d.buffer, a.buffer, 'exactly full');
    assert.equal(d.byteOffset, 48);
    const e = slab.take(1);
    assert.notEqual(e.buffer, a.buffer);
    assert.equal(e.byteOffset, 0);
    assert.equal(c.byteOffset, 32);
  });

  it('gives large arrays a buffer of their own', () => {
    const slab = new Slab(64);
    const big = slab.take(17);
    assert.equal(big.byteOffset, 0);
    assert.equal(big.buffer.byteLength, 17);
  });

  it('encodes the same bytes into a slab as without one', () => {
    const slab = new Slab(512);
    const value = {
      a: { id: new Uint8Array(20).fill(1), target: new Uint8Array(20).fill(2) },
      q: 7,
      t: [1, 2],
    };
    for (let i = 0; i < 20; i++) assert.deepEqual(encode(value, slab), encode(value));
  });
});
