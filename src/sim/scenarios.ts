/**
 * Scenarios: what happens to the network, and which operations are measured while it does.
 * Each one builds the network, then runs one or more phases (see SimContext.phase).
 *
 * To add one, add a workload in workloads.ts (if the operation is new) and a scenario here that
 * runs phases of it.
 */
import { churnSchedule, sessionModel } from './churn.js';
import type { BuildMode, SimContext } from './runner.js';
import {
  findNodeWorkload,
  getPeersWorkload,
  putGetWorkload,
  type Workload,
  ZIPF_ITEMS,
  zipfGetWorkload,
} from './workloads.js';
import type { SimNode } from './world.js';
import { runRotate } from './rotate.js';
import { natScenario } from './nat-sim.js';

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  run(ctx: SimContext): Promise<void>;
}

/** Default build: real joins for small networks, fast table seeding beyond 5,000 nodes. */
export function defaultBuild(ctx: SimContext): BuildMode {
  return ctx.options.build ?? (ctx.options.nodes > 5_000 ? 'fast' : 'join');
}

/** A window long enough that lookups overlap a little but do not pile up: ~10 started per second. */
function windowFor(count: number): number {
  return Math.max(30_000, count * 100);
}

function steady(name: string, summary: string, workload: Workload, mode?: BuildMode): Scenario {
  return {
    name,
    summary,
    async run(ctx) {
      await ctx.buildNetwork(mode ?? defaultBuild(ctx));
      await ctx.phase('steady', workload, ctx.lookups, windowFor(ctx.lookups));
    },
  };
}

const bootstrap = steady(
  'bootstrap',
  'every node joins through real bootstrap lookups (unless --build fast), then find_node lookups',
  findNodeWorkload,
);

const lookup = steady(
  'lookup',
  'announce from one random node, get_peers from another; no faults',
  getPeersWorkload,
);

const items = steady(
  'items',
  'BEP 44: put an immutable item from one random node, get it from another',
  putGetWorkload,
);

const zipfScenario = steady(
  'zipf',
  `BEP 44 gets of ${ZIPF_ITEMS} immutable items with Zipf popularity (each put on first use): path caching's case`,
  zipfGetWorkload,
);

const loss: Scenario = {
  name: 'loss',
  summary: 'announce + get_peers with packet loss (default 5%) and duplication (default 2%)',
  async run(ctx) {
    await ctx.buildNetwork(defaultBuild(ctx));
    ctx.world.network.lossRate = ctx.options.lossRate ?? 0.05;
    ctx.world.network.duplicateRate = ctx.options.duplicateRate ?? 0.02;
    await ctx.phase('lossy', getPeersWorkload, ctx.lookups, windowFor(ctx.lookups));
  },
};

const churn: Scenario = {
  name: 'churn',
  summary: 'nodes leave and join (Pareto sessions, default 10% per 10 min) during announce + get_peers',
  async run(ctx) {
    await ctx.buildNetwork(defaultBuild(ctx));
    const { world } = ctx;
    const fraction = ctx.options.churn ?? 0.1;
    const durationMs = ctx.options.durationMs ?? 10 * 60_000;
    const slots: SimNode[] = world.live.filter((n) => !ctx.routers.includes(n));
    const start = world.clock.now();
    const events = churnSchedule(world.random.fork(), slots.length, durationMs, { fraction });
    const stats = {
      leaves: 0,
      joins: 0,
      joinsOk: 0,
      meanSessionMin: sessionModel({ fraction }).meanMs / 60_000,
    };
    for (const e of events) {
      world.clock.setTimeout(
        () => {
          if (e.kind === 'leave') {
            stats.leaves++;
            void world.remove(slots[e.slot] as SimNode);
            return;
          }
          stats.joins++;
          const node = world.addNode({ bootstrap: ctx.bootstrap });
          slots[e.slot] = node;
          node.dht.start().then(
            (r) => {
              if (r.ok) stats.joinsOk++;
            },
            () => undefined,
          );
        },
        start + e.at - world.clock.now(),
      );
    }
    await ctx.phase('churn', getPeersWorkload, ctx.lookups, durationMs);
    ctx.churn = stats;
  },
};

const partition: Scenario = {
  name: 'partition',
  summary: 'announce + get_peers before, during and after a split of the globe into two halves',
  async run(ctx) {
    await ctx.buildNetwork(defaultBuild(ctx));
    const { world } = ctx;
    const third = Math.max(1, Math.floor(ctx.lookups / 3));
    await ctx.phase('before', getPeersWorkload, third, windowFor(third));
    // West and east of the prime meridian: a transatlantic and transpacific cut at once.
    world.network.partition((e) => (e.site.lon < 0 ? 0 : 1));
    await ctx.phase('partitioned', getPeersWorkload, third, windowFor(third));
    world.network.heal();
    await world.clock.advance(60_000);
    await ctx.phase('healed', getPeersWorkload, third, windowFor(third));
  },
};

const rotate: Scenario = {
  name: 'rotate',
  summary:
    'privacy rotation: --rotate F of the nodes (read-only first) rejoin with a fresh id every --rotate-every min, during announce + get_peers',
  run: (ctx) => runRotate(ctx, () => defaultBuild(ctx)),
};

export const SCENARIOS: Record<string, Scenario> = {
  bootstrap,
  lookup,
  items,
  zipf: zipfScenario,
  churn,
  loss,
  partition,
  rotate,
  nat: natScenario,
};
