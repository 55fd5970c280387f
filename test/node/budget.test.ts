import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUDGET_RELEASE, BUDGET_SEVERE, BudgetGovernor } from '../../src/node/budget.js';
import { Dht, RTT_ENTRIES_SEVERE, RTT_ENTRIES_UNDER_PRESSURE } from '../../src/node/dht.js';
import { MAX_RTT_ENTRIES } from '../../src/kademlia/rtt.js';
import { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { SeededRandom } from '../../src/util/random.js';

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

  it('turns the wide last round and path caching off under pressure, and on again at 0', () => {
    const dht = new Dht({ bootstrap: false, latency: ['converged-width', 'path-cache'] });
    assert.equal(dht.convergedWidth, dht.k);
    assert.equal(dht.pathCache, true);
    const changes = dht.setResourcePressure(1);
    assert.ok(changes.includes('wide last round on -> off'), changes.join('; '));
    assert.ok(changes.includes('path caching on -> off'), changes.join('; '));
    assert.equal(dht.convergedWidth, undefined);
    assert.equal(dht.pathCache, false);
    assert.ok(
      !dht.setResourcePressure(2).some((c) => /wide|path/.test(c)),
      'from 1 to 2 they stay off and are not reported again',
    );
    assert.ok(dht.setResourcePressure(0).includes('path caching off -> on'));
    assert.equal(dht.pathCache, true);
  });
});

describe('OverlayNode.setResourcePressure', () => {
  it('a get under severe pressure keeps one query in flight per path; level 0 restores the width', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const random = new SeededRandom(3);
    const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(40) });
    const nodes: OverlayNode[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
        const first = nodes[0];
        const node = new OverlayNode({
          identity,
          transport: net.listen(identity.publicKey, { host: `10.2.0.${i}`, port: 7000, family: 4 }),
          clock,
          random,
          paths: 1,
          bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
        });
        nodes.push(node);
        assert.ok((await clock.run(node.start())).ok);
      }
      const publisher = nodes[5] as OverlayNode;
      assert.ok((await clock.run(publisher.put(new TextEncoder().encode('v')))).stored > 0);
      const reader = nodes[30] as OverlayNode;
      const events: { level: number; changes: string[] }[] = [];
      reader.events.on('overlay:budget', (e) => events.push(e));

      // Count the reader's lookup queries in flight at once (its client is private; a unit test may wrap it).
      const client = (reader as unknown as { client: { request: (...a: unknown[]) => Promise<unknown> } })
        .client;
      const request = client.request.bind(client);
      let inFlight = 0;
      let most = 0;
      client.request = async (...args: unknown[]) => {
        most = Math.max(most, ++inFlight);
        try {
          return await request(...args);
        } finally {
          inFlight--;
        }
      };
      const widest = async (): Promise<number> => {
        most = 0;
        const got = await clock.run(reader.get(publisher.publicKey, { timeoutMs: 20_000 }));
        assert.ok(got, 'the get finds the item');
        return most;
      };

      assert.ok((await widest()) >= 3, 'unpressured: alpha 3 and the wide last round');
      const changes = reader.setResourcePressure(2);
      assert.deepEqual(changes.slice(0, 1), ['lookup parallelism 3 -> 1']);
      assert.ok(changes.includes('wide last round on -> off'), changes.join('; '));
      assert.equal(await widest(), 1, 'severe pressure: one query at a time');
      reader.setResourcePressure(0);
      assert.ok((await widest()) >= 3, 'level 0 restores the width');
      assert.deepEqual(
        events.map((e) => e.level),
        [2, 0],
      );
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
