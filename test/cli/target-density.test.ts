import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { log2Distance, median, rankDistance } from '../../src/cli/target-density.js';

const id = (first: number, last = 0): Uint8Array => {
  const b = new Uint8Array(20);
  b[0] = first;
  b[19] = last;
  return b;
};

describe('the targeted-eclipse density probe', () => {
  it('reads log2 of the XOR distance, fractional, 0 for equal ids', () => {
    assert.equal(log2Distance(id(0), id(0)), 0);
    assert.equal(log2Distance(id(0), id(0, 1)), 0, 'distance 1: log2 1');
    assert.equal(log2Distance(id(0), id(0, 8)), 3);
    assert.ok(Math.abs(log2Distance(id(0), id(0x80)) - 159) < 1e-9, 'top bit: 2^159');
    assert.ok(Math.abs(log2Distance(id(0), id(0xc0)) - (159 + Math.log2(1.5))) < 1e-9);
  });

  it('takes the k-th closest, the farthest when fewer, and null for none', () => {
    const t = id(0);
    const ids = [id(0x80), id(0x01), id(0x10), id(0x40)];
    assert.equal(rankDistance(t, ids, 2), log2Distance(t, id(0x10)));
    assert.equal(rankDistance(t, ids, 8), log2Distance(t, id(0x80)));
    assert.equal(rankDistance(t, []), null);
    assert.equal(median([3, 1, 2]), 2);
  });
});
