import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { fingerprint, simulate } from '../../src/sim/simulate.js';

// Lookups on one node share its shutdown signal: a dozen listeners at once is normal here.
EventEmitter.defaultMaxListeners = 256;

describe('simulation', () => {
  it('2,000 nodes: lookups succeed, and the same seed replays the same numbers', async () => {
    const options = { nodes: 2000, seed: 11, scenario: 'lookup', lookups: 300, build: 'fast' as const };
    const first = await simulate(options);
    const why = `seed ${options.seed}; replay: ${first.replay}`;
    assert.equal(first.overall.count, 300, why);
    assert.ok(first.overall.successRate >= 0.99, `success ${first.overall.successRate}; ${why}`);
    assert.ok(first.overall.hops.median >= 2 && first.overall.hops.median <= 6, why);
    assert.ok(first.overall.latencyMs.median > 100 && first.overall.latencyMs.median < 3000, why);
    // Every successful get_peers timed its first peer, which comes no later than convergence.
    assert.equal(first.overall.firstMs.count, first.overall.ok, why);
    assert.ok(first.overall.firstMs.median <= first.overall.latencyMs.median, why);
    const again = await simulate(options);
    assert.equal(fingerprint(again), fingerprint(first), `replay diverged; ${why}`);
    const other = await simulate({ ...options, seed: 12 });
    assert.notEqual(fingerprint(other), fingerprint(first), 'a different seed gives a different run');
  });

  it('2,000 nodes under churn (10% per 10 min) keep >= 99% of lookups successful', async () => {
    const r = await simulate({ nodes: 2000, seed: 3, scenario: 'churn', lookups: 300, build: 'fast' });
    assert.ok(r.churn && r.churn.leaves > 100 && r.churn.joins === r.churn.leaves, JSON.stringify(r.churn));
    assert.ok(r.network.unreachable > 0, 'departed nodes were still being contacted');
    assert.ok(r.overall.successRate >= 0.99, `success ${r.overall.successRate}; replay: ${r.replay}`);
  });

  it('nodes that join through real bootstrap lookups find each other', async () => {
    const r = await simulate({
      nodes: 400,
      seed: 5,
      scenario: 'bootstrap',
      lookups: 100,
      build: 'join',
      natFraction: 0,
    });
    assert.equal(r.build.joinFailed, 0);
    assert.equal(r.build.joined, 397);
    assert.ok(r.overall.successRate >= 0.99, `success ${r.overall.successRate}; replay: ${r.replay}`);
  });

  it('BEP 44 items put on one node are found from another', async () => {
    const r = await simulate({ nodes: 1000, seed: 4, scenario: 'items', lookups: 150, build: 'fast' });
    const [phase] = r.phases;
    assert.ok(phase?.stores && phase.stores.count === 150 && phase.storeKind === 'put');
    assert.equal(phase.lookupKind, 'get');
    assert.ok(r.overall.successRate >= 0.99, `success ${r.overall.successRate}; replay: ${r.replay}`);
  });

  it('a partition splits lookups, healing restores them', async () => {
    const r = await simulate({ nodes: 1000, seed: 2, scenario: 'partition', lookups: 150, build: 'fast' });
    const [before, during, after] = r.phases;
    assert.ok(before && during && after);
    assert.ok(before.lookups.successRate >= 0.98, `before ${before.lookups.successRate}`);
    assert.ok(during.lookups.successRate < 0.9, `during ${during.lookups.successRate}`);
    assert.ok(after.lookups.successRate >= 0.98, `after ${after.lookups.successRate}`);
    assert.ok(r.network.partitioned > 0);
  });
});
