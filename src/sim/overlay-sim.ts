/**
 * The overlay on virtual time: N unmodified `OverlayNode`s over the in-memory stream network,
 * with the simulator's internet latency, a NAT fraction (NATed nodes dial out and are never
 * dialled) and churn (nodes leave and new ones join). It measures what the overlay issue asks:
 * get after put, hops, messages per lookup, lookup time, with d disjoint paths.
 *
 *   const report = await simulateOverlay({ nodes: 2000, seed: 7, paths: 4 });
 *
 * Everything random comes from `seed`: a run replays exactly.
 */
import { asNodeId } from '../kademlia/id.js';
import { OverlayNode } from '../node/overlay-node.js';
import { OverlayIdentity } from '../protocols/overlay/identity.js';
import { SeededRandom } from '../util/random.js';
import { seedTables } from './fast-build.js';
import { SimulatedOverlayNet, spreadRefreshPhases } from './overlay-world.js';
import { VirtualClock } from './virtual-clock.js';

export interface OverlaySimOptions {
  nodes: number;
  seed: number;
  /** Disjoint paths per lookup (d). */
  paths: number;
  /** Items published, then read back from random nodes. */
  items: number;
  /** Fraction of nodes behind NAT. */
  natFraction: number;
  /** Fraction of nodes replaced per 10 virtual minutes, between the puts and the gets. */
  churn: number;
  /** Virtual minutes between the puts and the gets. */
  minutes: number;
  /**
   * join: every node joins through a real self-lookup; fast: tables are seeded from the sorted id
   * list (sim/fast-build.ts), as the Mainline simulator does for large runs. Churn newcomers
   * always join for real.
   */
  build: 'join' | 'fast';
  onProgress?: (phase: string, done: number, total: number) => void;
}

export const OVERLAY_SIM_DEFAULTS: Omit<OverlaySimOptions, 'nodes'> = {
  seed: 1,
  paths: 3,
  items: 200,
  natFraction: 0.2,
  churn: 0,
  minutes: 10,
  build: 'join',
};

export interface OverlaySimReport {
  options: Omit<OverlaySimOptions, 'onProgress'>;
  puts: { ok: number; total: number; medianStored: number };
  gets: { ok: number; total: number; successRate: number };
  lookups: { count: number; medianHops: number; medianMessages: number; medianMs: number; p95Ms: number };
  departed: number;
  joined: number;
  connections: number;
  wallMs: number;
}

interface Member {
  node: OverlayNode;
  /** Not behind NAT: others can dial it, so it can be a bootstrap node. */
  reachable: boolean;
}

export async function simulateOverlay(
  input: Partial<OverlaySimOptions> & { nodes: number },
): Promise<OverlaySimReport> {
  const options: OverlaySimOptions = { ...OVERLAY_SIM_DEFAULTS, ...input };
  const started = performance.now();
  const random = new SeededRandom(options.seed);
  const clock = new VirtualClock(1_700_000_000_000);
  const world = new SimulatedOverlayNet(clock, random);
  const net = world.net;
  const lookups: { hops: number; messages: number; ms: number }[] = [];
  let serial = 0;
  const alive: Member[] = [];

  const join = async (bootstrap: Member | undefined, natOverride?: boolean): Promise<Member> => {
    const n = serial++;
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const address = world.place(n);
    const nat = natOverride ?? (bootstrap !== undefined && random.float() < options.natFraction);
    const transport = net.listen(identity.publicKey, address, { reachable: !nat });
    const node = new OverlayNode({
      identity,
      transport,
      clock,
      random,
      paths: options.paths,
      bootstrap: bootstrap ? [{ publicKey: bootstrap.node.publicKey, address: bootstrap.node.address }] : [],
    });
    // Only the value lookups of puts and gets: bucket refreshes (find_node) run in the background
    // and would blur what a reader waits for.
    node.events.on('overlay:lookup', (e) => {
      if (e.kind === 'get_value') lookups.push({ hops: e.hops, messages: e.queried, ms: e.durationMs });
    });
    const member = { node, reachable: !nat };
    alive.push(member);
    await clock.run(node.start());
    return member;
  };

  // Build: the first node starts the network; each newcomer joins through a random reachable one
  // (a NATed node cannot be anyone's bootstrap).
  const first = await join(undefined);
  const bootstrapNode = (): Member => {
    const reachable = alive.filter((m) => m.reachable);
    return reachable[random.int(reachable.length)] ?? first;
  };
  if (options.build === 'fast') {
    for (let i = 1; i < options.nodes; i++) {
      await join(undefined, random.float() < options.natFraction);
      if (i % 1000 === 0) options.onProgress?.('create', i, options.nodes);
    }
    const reachable = alive
      .filter((m) => m.reachable)
      .map((m) => ({ id: asNodeId(m.node.id), address: m.node.address, key: m.node.publicKey }));
    seedTables(
      alive.map((m) => ({ id: m.node.id, table: m.node.table })),
      reachable,
      random,
      clock.now(),
      first.node.k,
      (done, total) => options.onProgress?.('seed', done, total),
    );
    spreadRefreshPhases(
      alive.map((m) => m.node),
      clock.now(),
      random,
    );
  } else {
    for (let i = 1; i < options.nodes; i++) {
      await join(bootstrapNode());
      if (i % 100 === 0) options.onProgress?.('join', i, options.nodes);
    }
  }
  await clock.advance(60_000);
  lookups.length = 0;

  // Publish, CONCURRENT_CALLS at a time: publishers act at once in a real network, and a serial
  // run would stretch the put phase over many refresh periods of every node.
  const published: { publisher: OverlayNode; value: string; index: number }[] = [];
  const stored: number[] = [];
  let putsOk = 0;
  await inBatches(clock, options.items, async (i) => {
    const publisher = (alive[random.int(alive.length)] as Member).node;
    const value = `item ${i} from ${serial}`;
    try {
      const put = await publisher.put(new TextEncoder().encode(value), { salt: salt(i) });
      stored.push(put.stored);
      putsOk++;
      published.push({ publisher, value, index: i });
    } catch {
      stored.push(0);
    }
    options.onProgress?.('put', stored.length, options.items);
  });

  // Churn: replace a fraction of the nodes per 10 minutes, spread over the window.
  const replacements = Math.round((options.churn * alive.length * options.minutes) / 10);
  const stepMs = replacements > 0 ? (options.minutes * 60_000) / replacements : options.minutes * 60_000;
  let departed = 0;
  const protectedNodes = new Set(published.map((p) => p.publisher));
  for (let i = 0; i < replacements; i++) {
    await clock.advance(stepMs);
    const victims = alive.filter((m, j) => j > 0 && !protectedNodes.has(m.node));
    const victim = victims[random.int(victims.length)];
    if (victim) {
      alive.splice(alive.indexOf(victim), 1);
      await victim.node.close();
      departed++;
    }
    await join(bootstrapNode());
    options.onProgress?.('churn', i + 1, replacements);
  }
  if (replacements === 0) await clock.advance(options.minutes * 60_000);
  lookups.length = 0;

  // Read each item back from a random node.
  let getsOk = 0;
  let read = 0;
  await inBatches(clock, published.length, async (i) => {
    const { publisher, value, index } = published[i] as (typeof published)[number];
    const reader = (alive[random.int(alive.length)] as Member).node;
    try {
      const got = await reader.get(publisher.publicKey, { salt: salt(index) });
      if (got && new TextDecoder().decode(got.item.v) === value) getsOk++;
    } catch {
      // counted as a miss
    }
    options.onProgress?.('get', ++read, published.length);
  });
  const report: OverlaySimReport = {
    options: {
      nodes: options.nodes,
      seed: options.seed,
      paths: options.paths,
      items: options.items,
      natFraction: options.natFraction,
      churn: options.churn,
      minutes: options.minutes,
      build: options.build,
    },
    puts: { ok: putsOk, total: options.items, medianStored: quantile(stored, 0.5) },
    gets: { ok: getsOk, total: options.items, successRate: options.items > 0 ? getsOk / options.items : 1 },
    lookups: {
      count: lookups.length,
      medianHops: quantile(
        lookups.map((l) => l.hops),
        0.5,
      ),
      medianMessages: quantile(
        lookups.map((l) => l.messages),
        0.5,
      ),
      medianMs: quantile(
        lookups.map((l) => l.ms),
        0.5,
      ),
      p95Ms: quantile(
        lookups.map((l) => l.ms),
        0.95,
      ),
    },
    departed,
    joined: serial,
    connections: net.connections,
    wallMs: 0,
  };
  await Promise.all(alive.map((m) => m.node.close()));
  report.wallMs = Math.round(performance.now() - started);
  return report;
}

/** Puts and gets in flight at once. */
const CONCURRENT_CALLS = 20;

/** Run `task(0..count-1)` on virtual time, CONCURRENT_CALLS at a time. */
async function inBatches(
  clock: VirtualClock,
  count: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  for (let from = 0; from < count; from += CONCURRENT_CALLS) {
    const batch: Promise<void>[] = [];
    for (let i = from; i < Math.min(count, from + CONCURRENT_CALLS); i++) batch.push(task(i));
    await clock.run(Promise.all(batch));
  }
}

function salt(i: number): Uint8Array {
  return new TextEncoder().encode(`sim-${i}`);
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
