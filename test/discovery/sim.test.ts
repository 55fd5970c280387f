import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulateDiscovery } from '../../src/discovery/sim.js';

describe('discovery simulation', () => {
  it('resolves every entry and transport list from the DHT after the server stops', async () => {
    const report = await simulateDiscovery({ visors: 40, reads: 15, seed: 4 });
    assert.equal(report.registered.entries, 40);
    assert.equal(report.registered.transports, 40);
    // 40 entries + 40 edges' lists (each visor is an edge of two transports).
    assert.equal(report.mirror.mirrored, 80);
    assert.equal(report.entryReads.ok, 15);
    assert.equal(report.transportReads.ok, 15);
    assert.ok(report.entryReads.p50Ms > 0 && report.entryReads.p95Ms >= report.entryReads.p50Ms);
  });
});
