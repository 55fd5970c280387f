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
import { itemTarget } from '../protocols/overlay/item.js';
import type { Address } from '../transport/address.js';
import { SeededRandom } from '../util/random.js';
import { seedTables } from './fast-build.js';
import {
  FAKE_KEYS_PER_ADVERSARY,
  fillFakePool,
  grindNear,
  hostileOverlayHandler,
  OverlayColluders,
  type OverlayAdversaryKind,
  overlaySybilAddress,
} from './overlay-adversary.js';
import { isAdversaryIndex } from './adversary.js';
import { SimulatedOverlayNet, spreadRefreshPhases } from './overlay-world.js';
import { HANDSHAKE_TIMEOUT_MS } from '../transport/stream/channel.js';
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
  /** Adversaries among the nodes of the build (sim/overlay-adversary.ts); operations run from honest nodes. */
  adversary?: OverlayAdversaryKind;
  /** Fraction of the build's nodes that are adversaries, 0..1. */
  adversaryFraction: number;
  /** Latency techniques every node uses (OverlayNodeOptions.latency); default the node's. */
  latency?: readonly string[];
  /**
   * Dials to departed and NATed nodes get no answer and fail at the handshake timeout, as a
   * dropped SYN does, instead of being refused after one round trip.
   */
  silentDials?: boolean;
  /**
   * How many random reachable nodes a joining node is given to bootstrap from (default 1). With
   * one, a newcomer that happens to join through an adversary learns only colluders.
   */
  joinContacts?: number;
  /** Every node keeps a per-contact reputation (OverlayNodeOptions.reputation). */
  reputation?: boolean;
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
  adversaryFraction: 0.2,
};

export interface OverlaySimReport {
  options: Omit<OverlaySimOptions, 'onProgress'>;
  puts: { ok: number; total: number; medianStored: number };
  /** lies: items that failed verification, summed over the gets (forged copies refused). */
  gets: {
    ok: number;
    total: number;
    successRate: number;
    lies: number;
    /** The gets read by nodes that joined during the churn phase (their tables are young). */
    byJoiners: { ok: number; total: number };
  };
  lookups: {
    count: number;
    medianHops: number;
    medianMessages: number;
    /** Mean queries per value lookup (the cost the attack tables compare). */
    meanMessages: number;
    /** Mean failed queries per value lookup (dials refused or unanswered, timeouts). */
    meanFailed: number;
    /** Mean queries per value lookup still unanswered at their short timeout. */
    meanUnanswered: number;
    medianMs: number;
    p95Ms: number;
    /** Gets that found an item: time to the first verified one (what a reader waits for). */
    firstItemMedianMs: number;
    firstItemP95Ms: number;
  };
  departed: number;
  joined: number;
  /** What the adversaries were and what their ids cost (targeted: keys ground per placed id). */
  adversaries?: {
    kind: OverlayAdversaryKind;
    count: number;
    grindBits: number;
    grindTries: number;
    grindMs: number;
    /** With reputation: contacts the honest nodes came to distrust, summed over them. */
    distrusted?: number;
  };
  connections: number;
  wallMs: number;
}

interface Member {
  node: OverlayNode;
  /** Not behind NAT: others can dial it, so it can be a bootstrap node. */
  reachable: boolean;
  hostile: boolean;
  /** Joined after the build (during churn). */
  late: boolean;
}

/** The salt of the targeted kind's victim item (published by the first node). */
const VICTIM_SALT = new TextEncoder().encode('victim');

export async function simulateOverlay(
  input: Partial<OverlaySimOptions> & { nodes: number },
): Promise<OverlaySimReport> {
  const options: OverlaySimOptions = { ...OVERLAY_SIM_DEFAULTS, ...input };
  const started = performance.now();
  const random = new SeededRandom(options.seed);
  const clock = new VirtualClock(1_700_000_000_000);
  const world = new SimulatedOverlayNet(
    clock,
    random,
    options.silentDials ? HANDSHAKE_TIMEOUT_MS : undefined,
  );
  const net = world.net;
  const lookups: { hops: number; messages: number; failed: number; unanswered: number; ms: number }[] = [];
  const firstItems: number[] = [];
  let serial = 0;
  const alive: Member[] = [];

  const kind = options.adversary;
  const colluders = new OverlayColluders();
  const grind = { bits: Math.ceil(Math.log2(Math.max(2, options.nodes))) + 1, tries: 0, ms: 0 };
  let victimTarget: Uint8Array | undefined;
  let hostileCount = 0;
  // Node i of the build (never the first) is an adversary by the rule Mainline's builds use.
  const isHostile = (i: number): boolean =>
    kind !== undefined && i > 0 && i < options.nodes && isAdversaryIndex(i, options.adversaryFraction);

  const join = async (bootstrap: Member[] | undefined, natOverride?: boolean): Promise<Member> => {
    const n = serial++;
    const hostile = isHostile(n);
    let identity: OverlayIdentity;
    if (hostile && kind === 'targeted' && victimTarget) {
      const t0 = performance.now();
      const ground = grindNear(victimTarget, grind.bits, random);
      grind.ms += performance.now() - t0;
      grind.tries += ground.tries;
      identity = ground.identity;
    } else {
      identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    }
    let address: Address = world.place(n);
    if (hostile && kind === 'sybil') address = world.placeAt(overlaySybilAddress(hostileCount));
    const nat = hostile
      ? false
      : (natOverride ?? (bootstrap !== undefined && random.float() < options.natFraction));
    const transport = net.listen(identity.publicKey, address, { reachable: !nat });
    const node = new OverlayNode({
      identity,
      transport,
      clock,
      random,
      paths: options.paths,
      ...(options.latency !== undefined ? { latency: options.latency } : {}),
      ...(options.reputation ? { reputation: true } : {}),
      bootstrap: (bootstrap ?? []).map((b) => ({ publicKey: b.node.publicKey, address: b.node.address })),
    });
    // Only the value lookups of puts and gets: bucket refreshes (find_node) run in the background
    // and would blur what a reader waits for.
    if (hostile && kind) {
      node.rpc.onRequest(hostileOverlayHandler(kind, node, colluders, identity, () => clock.now()));
      if (kind !== 'fake') colluders.add({ id: node.id, key: node.publicKey, address: node.address });
      hostileCount++;
    } else {
      node.events.on('overlay:lookup', (e) => {
        if (e.kind === 'get_value')
          lookups.push({
            hops: e.hops,
            messages: e.queried,
            failed: e.failed ?? 0,
            unanswered: e.unanswered ?? 0,
            ms: e.durationMs,
          });
      });
      node.events.on('overlay:get', (e) => {
        if (e.firstMs !== undefined) firstItems.push(e.firstMs);
      });
    }
    const member = { node, reachable: !nat, hostile, late: n >= options.nodes };
    alive.push(member);
    await clock.run(node.start());
    return member;
  };

  // Build: the first node starts the network; each newcomer joins through a random reachable one
  // (a NATed node cannot be anyone's bootstrap).
  const first = await join(undefined);
  if (kind === 'targeted') victimTarget = itemTarget(first.node.publicKey, VICTIM_SALT);
  const bootstrapNodes = (): Member[] => {
    const reachable = alive.filter((m) => m.reachable);
    const wanted = Math.min(options.joinContacts ?? 1, reachable.length);
    const picked = new Set<Member>();
    while (picked.size < wanted) picked.add(reachable[random.int(reachable.length)] as Member);
    return picked.size > 0 ? [...picked] : [first];
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
      await join(bootstrapNodes());
      if (i % 100 === 0) options.onProgress?.('join', i, options.nodes);
    }
  }
  // The fake kind's pool of dead keys outnumbers the network, so its ids beat real ones.
  if (kind === 'fake') fillFakePool(colluders, hostileCount * FAKE_KEYS_PER_ADVERSARY, random);
  const honest = (): Member[] => alive.filter((m) => !m.hostile);
  await clock.advance(60_000);
  lookups.length = 0;

  // Publish, CONCURRENT_CALLS at a time: publishers act at once in a real network, and a serial
  // run would stretch the put phase over many refresh periods of every node.
  const published: { publisher: OverlayNode; value: string; index: number }[] = [];
  const stored: number[] = [];
  let putsOk = 0;
  await inBatches(clock, options.items, async (i) => {
    // Targeted: one item, the victim, put once by the first node and read by every get.
    if (kind === 'targeted' && i > 0) return;
    const candidates = honest();
    const publisher =
      kind === 'targeted' ? first.node : (candidates[random.int(candidates.length)] as Member).node;
    let value = `item ${i} from ${serial}`;
    try {
      let put = await publisher.put(new TextEncoder().encode(value), {
        salt: kind === 'targeted' ? VICTIM_SALT : salt(i),
      });
      // Storage adversaries keep the first version: an update makes what they serve stale.
      if (kind === 'storage') {
        value = `${value} updated`;
        put = await publisher.put(new TextEncoder().encode(value), { salt: salt(i) });
      }
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
  protectedNodes.add(first.node);
  for (let i = 0; i < replacements; i++) {
    await clock.advance(stepMs);
    const victims = alive.filter((m, j) => j > 0 && !protectedNodes.has(m.node));
    const victim = victims[random.int(victims.length)];
    if (victim) {
      alive.splice(alive.indexOf(victim), 1);
      await victim.node.close();
      departed++;
    }
    await join(bootstrapNodes());
    options.onProgress?.('churn', i + 1, replacements);
  }
  if (replacements === 0) await clock.advance(options.minutes * 60_000);
  lookups.length = 0;
  firstItems.length = 0;

  // Read each item back from a random node.
  let getsOk = 0;
  const byJoiners = { ok: 0, total: 0 };
  let lies = 0;
  let read = 0;
  const reads = kind === 'targeted' && published.length > 0 ? options.items : published.length;
  const readers = honest();
  await inBatches(clock, reads, async (i) => {
    const { publisher, value, index } = published[kind === 'targeted' ? 0 : i] as (typeof published)[number];
    const { node: reader, late } = readers[random.int(readers.length)] as Member;
    if (late) byJoiners.total++;
    try {
      const got = await reader.get(publisher.publicKey, {
        salt: kind === 'targeted' ? VICTIM_SALT : salt(index),
      });
      if (got && new TextDecoder().decode(got.item.v) === value) {
        getsOk++;
        if (late) byJoiners.ok++;
      }
      lies += got?.lies ?? 0;
    } catch {
      // counted as a miss
    }
    options.onProgress?.('get', ++read, reads);
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
      ...(options.latency !== undefined ? { latency: options.latency } : {}),
      ...(options.silentDials ? { silentDials: true } : {}),
      ...(options.joinContacts !== undefined ? { joinContacts: options.joinContacts } : {}),
      ...(options.reputation ? { reputation: true } : {}),
      ...(kind ? { adversary: kind } : {}),
      adversaryFraction: kind ? options.adversaryFraction : 0,
    },
    puts: {
      ok: putsOk,
      total: kind === 'targeted' ? 1 : options.items,
      medianStored: quantile(stored, 0.5),
    },
    gets: {
      ok: getsOk,
      total: options.items,
      successRate: options.items > 0 ? getsOk / options.items : 1,
      lies,
      byJoiners,
    },
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
      meanMessages: mean(lookups.map((l) => l.messages)),
      meanFailed: mean(lookups.map((l) => l.failed)),
      meanUnanswered: mean(lookups.map((l) => l.unanswered)),
      medianMs: quantile(
        lookups.map((l) => l.ms),
        0.5,
      ),
      p95Ms: quantile(
        lookups.map((l) => l.ms),
        0.95,
      ),
      firstItemMedianMs: quantile(firstItems, 0.5),
      firstItemP95Ms: quantile(firstItems, 0.95),
    },
    departed,
    joined: serial,
    ...(kind
      ? {
          adversaries: {
            kind,
            count: hostileCount,
            grindBits: kind === 'targeted' ? grind.bits : 0,
            grindTries: grind.tries,
            grindMs: Math.round(grind.ms),
            ...(options.reputation
              ? {
                  distrusted: alive
                    .filter((m) => !m.hostile)
                    .reduce((n, m) => n + (m.node.reputation?.distrusted ?? 0), 0),
                }
              : {}),
          },
        }
      : {}),
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

function mean(values: number[]): number {
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
