import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUDGET_RELEASE, BUDGET_SEVERE, BudgetGovernor } from '../../src/node/budget.js';
import { Dht, RTT_ENTRIES_SEVERE, RTT_ENTRIES_UNDER_PRESSURE } from '../../src/node/dht.js';
import { MAX_RTT_ENTRIES } from '../../src/kademlia/rtt.js';

const MB = 1024 ** 2;
const heap = (mb: number, lag = 0) => ({ heapUsedBytes: mb * MB, eventLoopLagMs: lag });

describe('resource budget governor', () => {
  it('is inactive without budgets and never leaves level 0', () => {
    const g = new BudgetGovernor({});
    assert.equal(g.active, false);
    assert.equal(g.observe(heap(1e6, 1e6)).level, 0);
  });

  it('enters level 1 at the budget, 2 at BUDGET_SEVERE times it, and leaves with hysteresis', () => {
    const g = new BudgetGovernor({ memoryBytes: 100 * MB });
    assert.ok(g.active);
    assert.deepEqual(
      [g.observe(heap(99)).level, g.observe(heap(100)).level],
      [0, 1],
      'level 1 at the budget',
    );
    // In the band between BUDGET_RELEASE and the budget: stays at 1.
    const band = g.observe(heap(100 * (BUDGET_RELEASE + 0.05)));
    assert.equal(band.level, 1);
    assert.equal(band.changed, false);
    const severe = g.observe(heap(100 * BUDGET_SEVERE));
    assert.equal(severe.level, 2);
    assert.ok(severe.changed);
    assert.match(severe.reason, /heap 125 MiB of 100 MiB/);
    assert.equal(g.observe(heap(110)).level, 2, 'still over the budget: stays severe');
    assert.equal(g.observe(heap(90)).level, 1, 'under the budget, in the band: steps down to 1');
    assert.equal(g.observe(heap(100 * BUDGET_RELEASE - 1)).level, 0, 'under the band: released');
  });

  it('takes the worse of heap and event-loop lag', () => {
    const g = new BudgetGovernor({ memoryBytes: 100 * MB, eventLoopLagMs: 50 });
    const r = g.observe(heap(10, 80));
    assert.equal(r.level, 2);
    assert.match(r.reason, /event-loop lag 80 ms of 50 ms/);
  });

  it('refuses a negative or non-numeric budget', () => {
    assert.throws(() => new BudgetGovernor({ memoryBytes: -1 }), /budget memoryBytes must be a number >= 0/);
    assert.throws(() => new BudgetGovernor({ eventLoopLagMs: Number.NaN }), /eventLoopLagMs/);
  });
});

describe('Dht.setResourcePressure', () => {
  it('shrinks lookup parallelism and the RTT history, says so, and restores both at level 0', () => {
    const dht = new Dht({ bootstrap: false, alpha: 3 });
    for (let i = 0; i < 1000; i++)
      dht.latency.rtt.observe({ host: `10.0.${i >> 8}.${i & 255}`, port: 6881, family: 4 }, 40);
    const events: { level: number; changes: string[] }[] = [];
    dht.events.on('budget', (e) => events.push(e));
    assert.equal(dht.lookupAlpha, 3);

    const changes = dht.setResourcePressure(1);
    assert.equal(dht.lookupAlpha, 2);
    assert.equal(dht.latency.rtt.size, RTT_ENTRIES_UNDER_PRESSURE);
    assert.deepEqual(changes, [
      'lookup parallelism 3 -> 2',
      `RTT history capped at ${RTT_ENTRIES_UNDER_PRESSURE} addresses (1000 -> ${RTT_ENTRIES_UNDER_PRESSURE} held)`,
    ]);
    assert.deepEqual(events, [{ level: 1, changes }]);
    assert.deepEqual(dht.setResourcePressure(1), [], 'same level: nothing to do, no event');
    assert.equal(events.length, 1);

    dht.setResourcePressure(2);
    assert.equal(dht.lookupAlpha, 1);
    assert.equal(dht.latency.rtt.size, RTT_ENTRIES_SEVERE);

    dht.setResourcePressure(0);
    assert.equal(dht.lookupAlpha, 3);
    for (let i = 0; i < 1000; i++)
      dht.latency.rtt.observe({ host: `10.1.${i >> 8}.${i & 255}`, port: 6881, family: 4 }, 40);
    assert.equal(dht.latency.rtt.size, RTT_ENTRIES_SEVERE + 1000, 'the history may grow again');
    assert.ok(dht.latency.rtt.size <= MAX_RTT_ENTRIES);
    assert.equal(events.length, 3);
  });
});
