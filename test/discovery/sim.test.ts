import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulateDiscovery } from '../../src/discovery/sim.js';

describe('discovery simulation', () => {
  it('serves reads from the DHT with the server up, after it stops, and under churn', async () => {
    const report = await simulateDiscovery({
      visors: 40,
      reads: 10,
      steadyReads: 10,
      hours: 1,
      churn: 0.1,
      hourlyReads: 10,
      seed: 4,
    });
    assert.equal(report.registered.entries, 40);
    assert.equal(report.registered.transports, 40);
    // 40 entries + 40 edges' lists (each visor is an edge of two transports).
    assert.equal(report.mirror.mirrored, 80);

    // Server up: 10 entry and 10 transport reads through the hybrid client, none fell back.
    const s = report.steady;
    assert.equal(s.entryReads.ok, 10);
    assert.equal(s.transportReads.ok, 10);
    assert.deepEqual(s.served, { dht: 20, http: 0 });
    assert.deepEqual(s.fallbacks, { miss: 0, error: 0, 'breaker-open': 0, unpopulated: 0, 'no-side': 0 });
    assert.equal(s.fallbackFraction, 0);

    // Server stopped: the DHT alone.
    assert.equal(report.entryReads.ok, 10);
    assert.equal(report.transportReads.ok, 10);
    assert.ok(report.entryReads.p50Ms > 0 && report.entryReads.p95Ms >= report.entryReads.p50Ms);

    // One virtual hour at 10 % per 10 minutes: about 24 restarts of 40 visors.
    const c = report.churn;
    assert.ok(c);
    assert.ok(c.restarts > 10 && c.restarts < 60, `restarts ${c.restarts}`);
    assert.equal(c.failedJoins, 0);
    assert.equal(c.samples.length, 1);
    assert.equal(c.entryReads.total + c.skipped, 10);
    assert.equal(c.entryReads.ok, c.entryReads.total);
    assert.equal(c.transportReads.ok, c.transportReads.total);
    assert.ok(c.worst);
    // Every entry read came back as its visor's own current publish, not a setup-time mirror.
    assert.equal(c.currentEntries, c.entryReads.ok);
    // Upkeep ran on every visor, not only on restarted ones: the visors built at setup (seeded
    // tables, never joined) ran their maintenance ticks (every 30 s; each visor still on its
    // setup node for part of the hour), and each visor put its two records at least twice in the
    // hour (a first publish, then a re-announce or a restart's publish).
    assert.ok(c.upkeep.setupTicks > 40 * 30, `setup visors' maintenance ticks ${c.upkeep.setupTicks}`);
    assert.ok(c.upkeep.puts >= 3 * 40, `puts ${c.upkeep.puts}`);
    assert.ok(c.entryReads.p50Ms > 0 && c.entryReads.p95Ms >= c.entryReads.p50Ms);
  });
});
