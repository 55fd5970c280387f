import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulateOverlay } from '../../src/sim/overlay-sim.js';

describe('overlay simulator', () => {
  it('reads back every item under NAT and churn, and replays exactly from its seed', async () => {
    const options = { nodes: 120, seed: 11, paths: 3, items: 30, natFraction: 0.2, churn: 0.1, minutes: 10 };
    const first = await simulateOverlay(options);
    assert.equal(first.puts.ok, 30);
    assert.ok(first.gets.successRate >= 0.99, `gets ${first.gets.ok}/${first.gets.total}`);
    assert.ok(first.departed >= 10, `only ${first.departed} nodes left`);
    assert.ok(first.lookups.medianHops >= 1 && first.lookups.medianMessages > 0);
    const again = await simulateOverlay(options);
    assert.deepEqual({ ...again, wallMs: 0 }, { ...first, wallMs: 0 });
  });
});
