import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimContext } from '../../src/sim/runner.js';
import { warmUp } from '../../src/sim/warm-up.js';
import { SeededRandom } from '../../src/util/random.js';

const NODES = 300;

/** A fast-built network, optionally warmed up; returns the context. */
async function build(latency: readonly string[], refreshes: number): Promise<SimContext> {
  const ctx = new SimContext({ nodes: NODES, seed: 11, scenario: 'lookup', latency, warmUp: refreshes });
  await ctx.buildNetwork('fast');
  return ctx;
}

/** Table contacts with a measured RTT, and their mean smoothed RTT, over every live node. */
function measured(ctx: SimContext): { contacts: number; sampled: number; meanMs: number } {
  let contacts = 0;
  let sampled = 0;
  let sum = 0;
  for (const node of ctx.world.live) {
    for (const c of node.dht.table.nodes()) {
      contacts++;
      const rtt = node.dht.latency.rtt.srtt(c.address);
      if (rtt === undefined) continue;
      sampled++;
      sum += rtt;
    }
  }
  return { contacts, sampled, meanMs: sampled > 0 ? sum / sampled : Number.NaN };
}

async function close(ctx: SimContext): Promise<void> {
  await Promise.all(ctx.world.live.map((n) => n.dht.close()));
}

describe('fast build warm-up', () => {
  it('a fast build alone leaves tables without RTT samples', async () => {
    const ctx = await build(['adaptive-timeouts', 'pns'], 0);
    try {
      const m = measured(ctx);
      assert.ok(m.contacts > NODES * 8, `tables were seeded (${m.contacts} contacts)`);
      assert.equal(m.sampled, 0);
      assert.equal(ctx.build.warmUp, undefined);
    } finally {
      await close(ctx);
    }
  });

  it('runs every refresh, counts its datagrams, and gives table contacts RTTs', async () => {
    const ctx = await build(['adaptive-timeouts', 'pns'], 3);
    try {
      const w = ctx.build.warmUp;
      assert.ok(w);
      assert.equal(w.lookups, NODES * 3);
      assert.ok(w.datagrams > NODES * 3 * 4, `datagrams ${w.datagrams}`);
      assert.ok(w.virtualMs >= 60_000 && w.virtualMs <= 7 * 60_000, `virtual ${w.virtualMs} ms`);
      const m = measured(ctx);
      assert.ok(m.sampled > m.contacts / 10, `${m.sampled} of ${m.contacts} contacts have an RTT`);
    } finally {
      await close(ctx);
    }
  });

  it('lets PNS act: tables end up with faster contacts than without PNS', async () => {
    const pns = await build(['adaptive-timeouts', 'pns'], 3);
    const plain = await build(['adaptive-timeouts'], 3);
    try {
      const a = measured(pns);
      const b = measured(plain);
      assert.ok(a.meanMs < 0.9 * b.meanMs, `mean table RTT with PNS ${a.meanMs} ms, without ${b.meanMs} ms`);
    } finally {
      await close(pns);
      await close(plain);
    }
  });

  it('refuses a refresh count out of range', async () => {
    const ctx = new SimContext({ nodes: 8, seed: 1, scenario: 'lookup' });
    const random = new SeededRandom(1);
    await assert.rejects(
      warmUp(ctx.world.live, ctx.world.clock, random, 17, () => 0),
      /warm-up refreshes must be an integer 0-16/,
    );
  });
});
