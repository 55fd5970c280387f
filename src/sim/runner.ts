/**
 * Runs one simulation: build the network (fast or by real joins), then the scenario's phases of
 * operations on virtual time, and collect what happened. Everything in `SimResult` except `perf`
 * is a pure function of the options: the same seed gives the same numbers.
 */
import { type Summary, summarize } from './stats.js';
import { seedRoutingTables } from './fast-build.js';
import { warmUp, type WarmUpResult } from './warm-up.js';
import { internetLatency } from './latency.js';
import type { NetworkCounters } from './network.js';
import { DatagramCounts } from './datagram-kinds.js';
import { type OpKind, type OpSample, STORE_KINDS, type Workload } from './workloads.js';
import { type SimNode, SimWorld } from './world.js';
import { type AdversaryKind, AdversaryPlan, victimItem } from './adversary.js';
import { type FloodCounters, popularInfohashes, startFlooder } from './flood.js';
import { SeededRandom } from '../util/random.js';
import type { RotationStats } from './rotate.js';
import type { ConnectBreakdown } from './nat-sim.js';

export type BuildMode = 'fast' | 'join';

export interface SimOptions {
  nodes: number;
  seed: number;
  scenario: string;
  /** Lookups measured by the scenario (default 1000). */
  lookups?: number;
  /** fast: seed tables from the sorted id list; join: every node bootstraps for real. */
  build?: BuildMode;
  k?: number;
  alpha?: number;
  /** Latency techniques every node uses (node/latency.ts); default the node's default. */
  latency?: readonly string[];
  /** Fraction of nodes behind NAT (default 0.2). */
  natFraction?: number;
  /** Fraction of the NATed nodes behind symmetric NAT, the rest port-restricted (default 0). */
  symmetricFraction?: number;
  /** nat scenario: connect to found peers by hole punching (default true) or by plain ping. */
  punch?: boolean;
  /** Public nodes offer to relay (`relay: true`), the fallback when punching fails (default off). */
  relay?: boolean;
  /** Fraction of nodes running read-only, as the daemon's private profile does (default 0). */
  readOnlyFraction?: number;
  /** Rotate scenario: fraction of nodes that take a fresh id and address (read-only first), and how often, ms. */
  rotateFraction?: number;
  rotateEveryMs?: number;
  /** Loss and duplication rates for the loss scenario. */
  lossRate?: number;
  duplicateRate?: number;
  /** Churn: fraction of nodes replaced per 10 virtual minutes (default 0.1). */
  churn?: number;
  /**
   * After a fast build, bucket refreshes each node runs before measuring, so RTT estimates and
   * PNS come from real samples (sim/warm-up.ts; default 0, none).
   */
  warmUp?: number;
  /** After a join build, virtual time the network runs before measuring, ms (default AGE_MS). */
  ageMs?: number;
  /** Virtual duration of the churn scenario, ms (default 10 minutes). */
  durationMs?: number;
  /** Adversaries (sim/adversary.ts) among the nodes, and their fraction (default 0.2 when a kind is given). */
  adversary?: AdversaryKind;
  adversaryFraction?: number;
  /** Defences on every honest node: disjoint lookup paths (default 1) and reputation (default off). */
  lookupPaths?: number;
  reputation?: boolean;
  /** The token replay guard on every node (default on; off to show what it stops). */
  tokenReplay?: boolean;
  /** BEP 42 enforced: every node's id derives from its IP and honest nodes `require` it (default off). */
  secureIds?: boolean;
  onProgress?: (progress: SimProgress) => void;
}

export interface SimProgress {
  phase: string;
  done: number;
  total: number;
}

export interface OpStats {
  count: number;
  ok: number;
  successRate: number;
  hops: Summary;
  queries: Summary;
  /** Queries per lookup unanswered past their short timeout, over the samples that counted them. */
  timeouts: Summary;
  latencyMs: Summary;
  /** Time to the first correct result, over the operations that had one (get_peers, get). */
  firstMs: Summary;
  /** Share of the samples with a cache verdict (Zipf gets) served first by a path-cache copy; NaN when none. */
  hitRate: number;
}

export interface PhaseResult {
  name: string;
  workload: string;
  /** The operation counted as a lookup in this phase. */
  lookupKind: OpKind;
  startMs: number;
  endMs: number;
  lookups: OpStats;
  /** Other operations the workload measured (get_peers before a connect), one entry per kind. */
  others?: { kind: OpKind; stats: OpStats }[];
  /** Store steps (announce, put), for workloads that have them. */
  stores?: OpStats;
  storeKind?: OpKind;
  /** Datagrams sent network-wide during the phase, and per lookup. */
  datagrams: number;
  datagramsPerLookup: number;
  /** The phase's datagrams by kind (`q:get_peers`, `r`, ...: sim/datagram-kinds.ts), kinds sent only. */
  datagramsByKind?: Record<string, number>;
}

export interface SimResult {
  seed: number;
  scenario: string;
  nodes: number;
  build: {
    mode: BuildMode;
    virtualMs: number;
    joined: number;
    joinFailed: number;
    contactsSeeded: number;
    /** The fast build's warm-up (options.warmUp), when it ran. */
    warmUp?: WarmUpResult;
  };
  phases: PhaseResult[];
  /** Every lookup over the whole run (all phases), and per-minute success. */
  overall: OpStats;
  timeline: { minute: number; count: number; ok: number }[];
  samples: OpSample[];
  network: NetworkCounters;
  churn?: { leaves: number; joins: number; joinsOk: number; meanSessionMin: number };
  rotation?: RotationStats;
  /** nat scenario: connects by technique and by NAT pair. */
  connect?: ConnectBreakdown;
  /** The run's adversaries, and how many of them honest nodes came to distrust (reputation on). */
  adversaries?: {
    kind: AdversaryKind;
    fraction: number;
    count: number;
    distrusted: number;
    /**
     * announce-flood: what the flooders sent, and at the end of the run the popular swarms as the
     * 8 honest nodes closest to each hold them: the largest swarm, and the share of fake peers.
     */
    flood?: FloodCounters & { swarmMax: number; fakeShare: number };
  };
  virtualMs: number;
  /** The failure models' predictions over the live nodes (`predict-failures`), summed. */
  failureModel?: { outcomes: number; failures: number; logLoss: number; baseLogLoss: number };
  /** How to replay this run exactly. */
  replay: string;
  /** Wall-clock and memory measurements: not deterministic, excluded from replay checks. */
  perf: { wallMs: number; buildWallMs: number; heapBytesPerNode: number; rssBytesPerNode: number };
}

export const ROUTERS = 3;
/** Virtual time a network built by real joins runs before measuring: bucket refresh starts at 15 min. */
export const AGE_MS = 20 * 60_000;

export function opStats(samples: readonly OpSample[]): OpStats {
  const ok = samples.filter((s) => s.ok).length;
  return {
    count: samples.length,
    ok,
    successRate: samples.length > 0 ? ok / samples.length : Number.NaN,
    hops: summarize(samples.map((s) => s.hops)),
    queries: summarize(samples.map((s) => s.queries)),
    timeouts: summarize(samples.flatMap((s) => (s.timeouts === undefined ? [] : [s.timeouts]))),
    latencyMs: summarize(samples.map((s) => s.latencyMs)),
    firstMs: summarize(samples.flatMap((s) => (s.firstMs === undefined ? [] : [s.firstMs]))),
    hitRate: hitRate(samples),
  };
}

function hitRate(samples: readonly OpSample[]): number {
  const judged = samples.filter((s) => s.hit !== undefined);
  return judged.length > 0 ? judged.filter((s) => s.hit).length / judged.length : Number.NaN;
}

/** Shared state a scenario works with. */
export class SimContext {
  readonly world: SimWorld;
  readonly samples: OpSample[] = [];
  readonly phases: PhaseResult[] = [];
  readonly build: SimResult['build'] = {
    mode: 'fast',
    virtualMs: 0,
    joined: 0,
    joinFailed: 0,
    contactsSeeded: 0,
  };
  churn: SimResult['churn'];
  rotation: SimResult['rotation'];
  routers: SimNode[] = [];
  /** Which nodes are adversaries, when the run has any. */
  readonly adversaries: AdversaryPlan | undefined;
  buildWallMs = 0;
  private lastProgress = 0;

  constructor(readonly options: SimOptions) {
    this.world = new SimWorld({
      seed: options.seed,
      natFraction: options.natFraction ?? 0.2,
      ...(options.symmetricFraction !== undefined ? { symmetricFraction: options.symmetricFraction } : {}),
      ...(options.relay ? { relayNodes: true } : {}),
      readOnlyFraction: options.readOnlyFraction,
      latency: internetLatency(),
      dht: {
        k: options.k,
        alpha: options.alpha,
        latency: options.latency,
        ...(options.lookupPaths !== undefined ? { lookupPaths: options.lookupPaths } : {}),
        ...(options.reputation ? { reputation: true } : {}),
        ...(options.tokenReplay === false ? { tokenReplay: false } : {}),
        ...(options.secureIds ? { secureIds: 'require' as const } : {}),
      },
    });
    if (options.adversary) {
      const victim = options.adversary === 'targeted' ? victimItem(options.seed) : undefined;
      this.adversaries = new AdversaryPlan(
        options.adversary,
        options.adversaryFraction ?? 0.2,
        options.nodes,
        new SeededRandom(options.seed ^ 0xad7e5),
        victim,
        options.secureIds ?? false,
      );
      this.world.victim = victim;
      if (options.adversary === 'announce-flood') {
        const popular = popularInfohashes(options.seed);
        this.world.popular = popular;
        this.adversaries.floodTargets.pin(popular);
      }
    }
  }

  /**
   * Add one (non-router) node: honest, or the adversary plan's next one (`forceHostile`: an
   * adversary whatever the plan's spread, for a cluster that joins later).
   */
  addPeer(bootstrap?: readonly string[], forceHostile = false): SimNode {
    const hostile = this.adversaries?.next(forceHostile);
    const node = this.world.addNode({
      ...(bootstrap ? { bootstrap } : {}),
      ...(hostile
        ? { hostile, nat: false, readOnly: false, ...(hostile.idFor ? { idFor: hostile.idFor } : {}) }
        : {}),
    });
    const plan = this.adversaries;
    if (hostile && plan) {
      plan.joined(node.dht.id, node.endpoint.address);
      if (hostile.flood) startFlooder(node.dht, plan.floodTargets, plan.flood, () => plan.hostile);
    }
    return node;
  }

  get lookups(): number {
    return this.options.lookups ?? 1000;
  }

  progress(phase: string, done: number, total: number, force = false): void {
    const now = performance.now();
    if (!force && done !== total && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    this.options.onProgress?.({ phase, done, total });
  }

  /** The bootstrap addresses joining nodes use: the routers, which never churn. */
  get bootstrap(): string[] {
    return this.routers.map((r) => `${r.endpoint.address.host}:${r.endpoint.address.port}`);
  }

  async buildNetwork(mode: BuildMode): Promise<void> {
    const started = performance.now();
    const { world } = this;
    const n = this.options.nodes;
    this.build.mode = mode;
    for (let i = 0; i < Math.min(ROUTERS, n); i++)
      this.routers.push(world.addNode({ nat: false, readOnly: false }));
    if (mode === 'fast') {
      for (let i = this.routers.length; i < n; i++) {
        this.addPeer();
        if (i % 1000 === 0) this.progress('create', i, n);
      }
      this.build.contactsSeeded = seedRoutingTables(
        world.live,
        world.live,
        world.random.fork(),
        0,
        8,
        (d, t) => this.progress('seed tables', d, t),
      );
      const refreshes = this.options.warmUp ?? 0;
      if (refreshes > 0)
        this.build.warmUp = await warmUp(
          world.live,
          world.clock,
          world.random.fork(),
          refreshes,
          () => world.network.counters.sent,
          undefined,
          (d, t) => this.progress('warm up', d, t),
        );
    } else {
      // Routers first know each other, then everybody joins through them, 64 at a time.
      const first = this.routers[0];
      for (const r of this.routers.slice(1)) {
        if (first) r.dht.table.observe({ id: first.dht.id, address: first.endpoint.address }, true, 0);
      }
      await world.clock.run(Promise.all(this.routers.slice(1).map((r) => r.dht.bootstrap())));
      const batch = 64;
      for (let i = this.routers.length; i < n; i += batch) {
        const joining: SimNode[] = [];
        for (let j = i; j < Math.min(n, i + batch); j++) joining.push(this.addPeer(this.bootstrap));
        const results = await world.clock.run(Promise.all(joining.map((node) => node.dht.start())));
        for (const r of results) {
          if (r.ok) this.build.joined++;
          else this.build.joinFailed++;
        }
        this.progress('join', Math.min(n, i + batch), n);
      }
      // Fresh tables know the joiner's neighbourhood but little of the far half of the id space;
      // the nodes' own maintenance refreshes idle buckets after 15 minutes. Let the network age
      // that long (plus a few refresh rounds) before measuring, as a real network has.
      const ageMs = this.options.ageMs ?? AGE_MS;
      for (let t = 0; t < ageMs; t += 60_000) {
        await world.clock.advance(Math.min(60_000, ageMs - t));
        this.progress('age', Math.min(ageMs, t + 60_000) / 60_000, ageMs / 60_000);
      }
    }
    this.build.virtualMs = world.clock.now();
    this.buildWallMs = performance.now() - started;
  }

  /**
   * Run `count` operations of `workload`, started at uniformly random times over `windowMs` of
   * virtual time, and wait (bounded) for all of them.
   */
  async phase(name: string, workload: Workload, count: number, windowMs: number): Promise<PhaseResult> {
    const { world } = this;
    const startMs = world.clock.now();
    const sentBefore = world.network.counters.sent;
    const kindsBefore = world.network.kinds.snapshot();
    const firstSample = this.samples.length;
    const times: number[] = [];
    for (let i = 0; i < count; i++) times.push(world.int(Math.max(1, windowMs)));
    times.sort((a, b) => a - b);
    let done = 0;
    for (const t of times) {
      world.clock.setTimeout(() => {
        workload.run(world, this.samples).then(
          () => done++,
          () => done++,
        );
      }, t);
    }
    const finished = await world.clock.runUntil(
      () => {
        this.progress(name, done, count);
        return done === count;
      },
      windowMs + 5 * 60_000,
      1000,
    );
    if (!finished)
      throw new Error(`phase ${name}: ${count - done} operations still running after the time limit`);
    const mine = this.samples.slice(firstSample);
    const lookups = mine.filter((s) => s.kind === workload.lookupKind);
    const stores = mine.filter((s) => STORE_KINDS.includes(s.kind));
    const datagrams = world.network.counters.sent - sentBefore;
    const result: PhaseResult = {
      name,
      workload: workload.name,
      lookupKind: workload.lookupKind,
      startMs,
      endMs: world.clock.now(),
      lookups: opStats(lookups),
      datagrams,
      datagramsPerLookup: lookups.length > 0 ? datagrams / lookups.length : 0,
      datagramsByKind: DatagramCounts.minus(world.network.kinds.snapshot(), kindsBefore),
    };
    const otherKinds = [
      ...new Set(
        mine.map((s) => s.kind).filter((k) => k !== workload.lookupKind && !STORE_KINDS.includes(k)),
      ),
    ];
    if (otherKinds.length > 0)
      result.others = otherKinds.map((kind) => ({
        kind,
        stats: opStats(mine.filter((s) => s.kind === kind)),
      }));
    if (stores.length > 0) {
      result.stores = opStats(stores);
      result.storeKind = (stores[0] as OpSample).kind;
    }
    this.phases.push(result);
    return result;
  }
}
