import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { simulateAnomalies, windowTopShare } from '../../src/cli/anomaly-sim.js';
import { Colluders, gated, hostileHandlers } from '../../src/sim/adversary.js';
import { nodeHandlers } from '../../src/protocols/mainline/handlers/index.js';
import type { HandlerContext } from '../../src/protocols/mainline/handlers/context.js';

// Lookups on one node share its shutdown signal: several listeners at once is normal here.
EventEmitter.defaultMaxListeners = 256;

describe('adversaries that turn hostile mid-run', () => {
  it('a gated table answers honestly until switched on, then with the hostile policy', () => {
    let on = false;
    const colluders = new Colluders();
    colluders.add({ id: new Uint8Array(20).fill(7), address: { host: '66.6.6.6', port: 9, family: 4 } });
    const table = gated(hostileHandlers('eclipse', colluders), () => on);
    const ctx = { localId: new Uint8Array(20).fill(1), k: 8 } as unknown as HandlerContext;
    const query = { method: 'find_node', target: new Uint8Array(20).fill(7) } as never;
    const from = { host: '10.0.0.1', port: 1, family: 4 } as const;
    // Honest find_node reads the routing table, which this bare context lacks: it throws.
    assert.throws(() => table.find_node(ctx, query, from));
    assert.deepEqual(
      table.ping(ctx, { method: 'ping' } as never, from),
      nodeHandlers.ping(ctx, {} as never, from),
    );
    on = true;
    const reply = table.find_node(ctx, query, from) as { nodes: Uint8Array };
    assert.equal(reply.nodes.length, 26, 'one colluder, compact: the hostile answer');
  });
});

describe('the windowed top-/24 reply share', () => {
  it('sums the window before taking the top /24, and reads 0 under the minimum of replies', () => {
    const window = [
      new Map([
        ['1.2.3', 30],
        ['4.5.6', 10],
      ]),
      new Map([
        ['4.5.6', 40],
        ['7.8.9', 20],
      ]),
    ];
    // Per tick the top /24 is 75 % then 67 %; over the window 4.5.6 holds 50 of 100.
    assert.equal(windowTopShare(window, 100), 0.5);
    assert.equal(windowTopShare(window, 101), 0, 'under the minimum the rule never reads it');
    assert.equal(windowTopShare([], 0), 0);
  });
});

describe('anomaly detection in the simulator', () => {
  it("fake contacts at 30 % trip the daemons' error-spike rule after the turn, never before it", async () => {
    const r = await simulateAnomalies({
      nodes: 300,
      seed: 3,
      adversary: 'fake',
      fraction: 0.3,
      daemons: 4,
      beforeMs: 6 * 60_000,
      afterMs: 2 * 60_000,
    });
    assert.equal(r.flaggedBefore, 0, `no flag while every node is honest: ${JSON.stringify(r)}`);
    assert.ok(r.flaggedAfter >= 3, `most daemons flag the attack: ${JSON.stringify(r)}`);
    assert.ok(
      (r.byRule['error-spike'] ?? 0) >= 3,
      `through the error-spike rule: ${JSON.stringify(r.byRule)}`,
    );
    assert.ok(r.lookups > 4 * 100, `the daemons looked up often: ${r.lookups}`);
  });

  it('refuses a before-phase shorter than the detector warm-up', async () => {
    await assert.rejects(simulateAnomalies({ nodes: 50, seed: 1, beforeMs: 60_000 }), RangeError);
  });
});

describe('anomaly detection of the new attacks in the simulator', () => {
  it('Sybils that join at the turn from one /24 trip subnet-replies after it, nothing before', async () => {
    const r = await simulateAnomalies({
      nodes: 200,
      seed: 2,
      adversary: 'sybil',
      fraction: 0.2,
      join: 'turn',
      daemons: 4,
      beforeMs: 6 * 60_000,
      afterMs: 2 * 60_000,
    });
    assert.equal(r.flaggedBefore, 0, `no flag while every node is honest: ${JSON.stringify(r)}`);
    assert.ok(r.flaggedAfter >= 3, `most daemons flag the cluster: ${JSON.stringify(r)}`);
    assert.ok((r.byRule['subnet-replies'] ?? 0) >= 3, `through subnet-replies: ${JSON.stringify(r.byRule)}`);
    assert.ok(r.topReplyShare.after.mean > 2 * r.topReplyShare.before.mean, JSON.stringify(r.topReplyShare));
    // The windowed share is what subnet-replies compares: every daemon it flagged read >= 20 %.
    const over = r.windowReplyShare.after.filter((x) => x >= 0.2).length;
    assert.ok(over >= 3, JSON.stringify(r.windowReplyShare));
    assert.ok(Math.max(...r.windowReplyShare.before) < 0.2, JSON.stringify(r.windowReplyShare));
  });

  it("an announce flood at the daemons' swarms trips inbound-spike after the turn, nothing before", async () => {
    const r = await simulateAnomalies({
      nodes: 200,
      seed: 2,
      adversary: 'announce-flood',
      fraction: 0.2,
      daemons: 4,
      beforeMs: 6 * 60_000,
      afterMs: 2 * 60_000,
    });
    assert.equal(r.flaggedBefore, 0, `no flag while every node is honest: ${JSON.stringify(r)}`);
    assert.ok(r.flaggedAfter >= 3, `most daemons flag the flood: ${JSON.stringify(r)}`);
    assert.ok((r.byRule['inbound-spike'] ?? 0) >= 3, `through inbound-spike: ${JSON.stringify(r.byRule)}`);
    const flood = r.flood;
    assert.ok(flood && flood.sent > 1000, `the flooders flooded: ${JSON.stringify(flood)}`);
    assert.ok(flood.refused > 0, `the replay guard refused some: ${JSON.stringify(flood)}`);
  });
});

describe('the targeted-eclipse density probe and rule in the simulator', () => {
  it("the victim target's closest contacts are bits denser than usual under a targeted attack, not without", async () => {
    const run = (adversary?: 'targeted') =>
      simulateAnomalies({
        nodes: 300,
        seed: 1,
        ...(adversary ? { adversary, fraction: 0.1 } : {}),
        daemons: 4,
        beforeMs: 6 * 60_000,
        afterMs: 60_000,
      });
    const free = await run();
    const attacked = await run('targeted');
    assert.ok(Math.max(...free.targetDensity.victim) < 3, JSON.stringify(free.targetDensity));
    assert.ok(Math.max(...free.targetDensity.random) < 3, JSON.stringify(free.targetDensity));
    assert.ok(
      attacked.targetDensity.victim.every((b) => b >= 3),
      JSON.stringify(attacked.targetDensity),
    );
    // The detector's target-density rule, fed by the daemons' own lookups, sees the same.
    assert.equal(attacked.daemonsByRule['target-density']?.after, 4, JSON.stringify(attacked.daemonsByRule));
    assert.equal(free.daemonsByRule['target-density'], undefined, JSON.stringify(free.daemonsByRule));
  });
});
