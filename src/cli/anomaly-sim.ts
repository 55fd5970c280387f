/**
 * Anomaly detection measured in the simulator: the statistics service (services/statistics.ts,
 * with its AnomalyDetector) watches a few "daemon" nodes of a simulated Mainline network, the
 * way `kadmiumd` watches its own node. Adversaries (sim/adversary.ts) join honest and turn
 * hostile halfway through the run, so each daemon's detector has a clean baseline first; a flag
 * raised after the turn is a detection, a flag raised by the same daemons in an attack-free run
 * (same seed, same workload) is a false positive.
 *
 * It lives here because sim/ may not import services/ (test/architecture.test.ts): the CLI layer
 * sees both. `scripts/anomaly-rates.mjs` runs the grid and prints the table of docs/SECURITY.md.
 */
import { AnomalyDetector, type AnomalyOptions, type AnomalyRule, median } from '../services/anomaly.js';
import { MAX_SUBNETS_PER_TICK, Statistics } from '../services/statistics.js';
import { rankLog2Distance } from '../kademlia/id.js';
import { subnetKey } from '../transport/address.js';
import { type AdversaryKind, victimItem } from '../sim/adversary.js';
import { SimContext } from '../sim/runner.js';
import type { SimNode } from '../sim/world.js';
import { every, type Timer } from '../util/clock.js';

export interface AnomalySimOptions {
  nodes: number;
  seed: number;
  /** The attack, or undefined for the attack-free run that gives the false positives. */
  adversary?: AdversaryKind;
  fraction?: number;
  /** Nodes that run a detector and look up often, as a daemon does. */
  daemons?: number;
  /** Virtual time with every node honest (the detector's warm-up is inside it), ms. */
  beforeMs?: number;
  /** Virtual time after the adversaries turn hostile, ms. */
  afterMs?: number;
  /** Each daemon starts one get_peers lookup of a random infohash this often, ms. */
  lookupEveryMs?: number;
  /** The statistics tick, ms: one detector observation. */
  tickMs?: number;
  /** Detector settings (default the daemon's). */
  detector?: AnomalyOptions;
  reputation?: boolean;
  paths?: number;
  /**
   * When the adversaries arrive: 'start' (built in, honest until the turn) or 'turn' (absent,
   * then all join at the turn through the routers and lie at once; the rest of the run is built
   * with the honest nodes only, so the total stays `nodes`).
   */
  join?: 'start' | 'turn';
}

export interface DaemonOutcome {
  /** First tick a rule fired on before / after the turn (ms after the turn; <= 0 before), if any. */
  firstBeforeMs?: number;
  firstAfterMs?: number;
  rules: AnomalyRule[];
}

export interface AnomalySimResult {
  adversary: AdversaryKind | 'none';
  fraction: number;
  join: 'start' | 'turn';
  nodes: number;
  seed: number;
  daemons: number;
  tickMs: number;
  /** Daemons with a flag after the turn: the detection rate (attack-free run: the false-positive rate). */
  flaggedAfter: number;
  /** Daemons with a flag before the turn, while everybody was honest: false positives in every run. */
  flaggedBefore: number;
  /** Daemon ticks flagged after / before the turn, over the ticks observed after warm-up. */
  tickRateAfter: number;
  tickRateBefore: number;
  /** Median time from the turn to a daemon's first flag, ms (detected daemons only). */
  medianDelayMs: number | null;
  /** Daemon ticks on which a rule fired after the turn, by rule. */
  byRule: Partial<Record<AnomalyRule, number>>;
  /** The same before the turn (warm-up over, every node honest or, targeted, honest but placed). */
  byRuleBefore: Partial<Record<AnomalyRule, number>>;
  /** Daemons each rule fired on after / before the turn. */
  daemonsByRule: Partial<Record<AnomalyRule, { after: number; before: number }>>;
  /**
   * The largest share of a daemon's replies (to its own queries) that came from one /24 in one
   * tick, mean and maximum over the daemons' ticks before and after the turn: whether an attack
   * moves this input is what decides if a detector rule on it could see a Sybil cluster.
   */
  topReplyShare: Record<'before' | 'after', { mean: number; max: number }>;
  /**
   * Per daemon, the largest share of its replies that one /24 sent over the subnet-replies window
   * (30 s, windows holding at least the rule's minimum of replies), before and after the turn:
   * what the rule compares with its threshold, so the detection and false positives of any
   * threshold can be read off one run (`scripts/anomaly-rates.mjs --share-sweep`).
   */
  windowReplyShare: Record<'before' | 'after', number[]>;
  /**
   * The targeted-eclipse signal of the target-density rule, probed per daemon at the end of the
   * run (independent of the daemon's own lookups): how many bits closer than its usual level (the median over DENSITY_PROBES random
   * targets) the 8th closest contact a find_node returns for the victim's target lies (`victim`;
   * the attack-free runs probe the same seed's target), and the most any of the random targets
   * did (`random`: honest spread).
   */
  targetDensity: { victim: number[]; random: number[] };
  lookups: number;
  /** The announce flood: what the flooders sent, and how much of it the daemons' nodes took. */
  flood?: { sent: number; accepted: number; refused: number; tokenQueries: number };
  /**
   * The daemons' get_peers lookups in three windows (before the turn, the first and the second
   * half after it): mean queries sent and mean queries that failed (timeouts, errors). With
   * reputation on, the late window shows what a node that looks up often has learned.
   */
  cost: Record<
    'before' | 'early' | 'late',
    { lookups: number; queried: number; failed: number; durationMs: number }
  >;
  wallMs: number;
}

export const ANOMALY_SIM_DEFAULTS = {
  daemons: 20,
  beforeMs: 10 * 60_000,
  afterMs: 10 * 60_000,
  lookupEveryMs: 2_000,
  tickMs: 10_000,
  fraction: 0.2,
  join: 'start',
} as const;

/** The subnet-replies window in time, as the daemon has it (30 one-second ticks), whatever the tick here. */
const REPLY_WINDOW_MS = 30_000;

/** A targeted run's daemons look up the victim's target one lookup in this many (the rest are random). */
const VICTIM_LOOKUP_EVERY = 4;

/** Lookups a daemon may have in flight: a slow (attacked) lookup never piles up more than this. */
const MAX_IN_FLIGHT_PER_DAEMON = 4;
/** Bounded wait for in-flight lookups at the end, ms of virtual time. */
const DRAIN_MS = 60_000;

export async function simulateAnomalies(options: AnomalySimOptions): Promise<AnomalySimResult> {
  const started = performance.now();
  const o = { ...ANOMALY_SIM_DEFAULTS, ...options };
  const detector: AnomalyOptions = {
    replyWindowTicks: Math.max(1, Math.round(REPLY_WINDOW_MS / o.tickMs)),
    ...o.detector,
  };
  const { warmupTicks, replyWindowTicks, minReplies } = new AnomalyDetector(detector).options;
  if (o.beforeMs < (warmupTicks + 1) * o.tickMs)
    throw new RangeError(
      `beforeMs must exceed the detector's warm-up (${warmupTicks} ticks of ${o.tickMs} ms)`,
    );
  const late = o.adversary !== undefined && o.join === 'turn' ? Math.round(o.nodes * o.fraction) : 0;
  const ctx = new SimContext({
    nodes: o.nodes - late,
    seed: o.seed,
    scenario: 'lookup',
    build: 'fast',
    ...(o.adversary ? { adversary: o.adversary, adversaryFraction: late > 0 ? 0 : o.fraction } : {}),
    ...(o.reputation ? { reputation: true } : {}),
    ...(o.paths !== undefined ? { lookupPaths: o.paths } : {}),
  });
  if (ctx.adversaries) ctx.adversaries.hostile = false;
  await ctx.buildNetwork('fast');
  const { world } = ctx;
  const daemons: SimNode[] = [];
  for (let i = 0; i < o.daemons; i++) daemons.push(world.randomLive((n) => !daemons.includes(n)));
  // A flood goes after popular swarms; here the daemons are what is watched, so theirs are the
  // popular ones: each daemon is the closest node to one flooded infohash (its own id).
  if (ctx.adversaries?.kind === 'announce-flood')
    ctx.adversaries.floodTargets.pin(daemons.map((d) => d.dht.id));
  const victim = ctx.adversaries?.kind === 'targeted' ? world.victim?.target : undefined;

  const turnAt = world.clock.now() + o.beforeMs;
  const outcomes: DaemonOutcome[] = daemons.map(() => ({ rules: [] }));
  const ticks = { before: 0, after: 0, flaggedBefore: 0, flaggedAfter: 0 };
  const byRule: Partial<Record<AnomalyRule, number>> = {};
  const byRuleBefore: Partial<Record<AnomalyRule, number>> = {};
  const rulesAfter: Set<AnomalyRule>[] = daemons.map(() => new Set());
  const rulesBefore: Set<AnomalyRule>[] = daemons.map(() => new Set());
  const timers: Timer[] = [];
  const services: Statistics[] = [];
  let lookups = 0;
  let inFlight = 0;
  const windowPeaks: { before: number; after: number }[] = [];
  const shares = { before: { sum: 0, n: 0, max: 0 }, after: { sum: 0, n: 0, max: 0 } };
  const sums = {
    before: { lookups: 0, queried: 0, failed: 0, durationMs: 0 },
    early: { lookups: 0, queried: 0, failed: 0, durationMs: 0 },
    late: { lookups: 0, queried: 0, failed: 0, durationMs: 0 },
  };
  daemons.forEach((node, i) => {
    const outcome = outcomes[i] as DaemonOutcome;
    const stats = new Statistics(node.dht, { tickMs: o.tickMs, detector: new AnomalyDetector(detector) });
    stats.start();
    stats.runtime.stop(); // real event-loop delay means nothing on virtual time
    services.push(stats);
    // Replies by /24 over the current tick, beside the detector's own count of them.
    let replies = new Map<string, number>();
    const window: Map<string, number>[] = [];
    const peak = { before: 0, after: 0 };
    windowPeaks.push(peak);
    node.dht.events.on('response:in', (e) => {
      const key = subnetKey(e.from.host);
      if (replies.has(key) || replies.size < MAX_SUBNETS_PER_TICK)
        replies.set(key, (replies.get(key) ?? 0) + 1);
    });
    stats.events.on('tick', ({ anomalies }) => {
      const tickReplies = replies;
      replies = new Map();
      window.push(tickReplies);
      while (window.length > replyWindowTicks) window.shift();
      if (!stats.detector.warm) return;
      const after = world.clock.now() > turnAt;
      const share = windowTopShare(window, minReplies);
      if (after) peak.after = Math.max(peak.after, share);
      else peak.before = Math.max(peak.before, share);
      let total = 0;
      let top = 0;
      for (const n of tickReplies.values()) {
        total += n;
        top = Math.max(top, n);
      }
      if (total > 0) {
        const w = after ? shares.after : shares.before;
        w.sum += top / total;
        w.n++;
        w.max = Math.max(w.max, top / total);
      }
      if (after) ticks.after++;
      else ticks.before++;
      // A rule that fired on this tick (not one merely still active from an earlier episode).
      const fired = anomalies.filter((a) => a.lastAt === world.clock.now());
      if (fired.length === 0) return;
      const since = world.clock.now() - turnAt;
      if (after) {
        ticks.flaggedAfter++;
        outcome.firstAfterMs ??= since;
        for (const a of fired) {
          byRule[a.rule] = (byRule[a.rule] ?? 0) + 1;
          rulesAfter[i]?.add(a.rule);
        }
      } else {
        ticks.flaggedBefore++;
        outcome.firstBeforeMs ??= since;
        for (const a of fired) {
          byRuleBefore[a.rule] = (byRuleBefore[a.rule] ?? 0) + 1;
          rulesBefore[i]?.add(a.rule);
        }
      }
      for (const a of fired) if (!outcome.rules.includes(a.rule)) outcome.rules.push(a.rule);
    });
    node.dht.events.on('lookup:finished', (e) => {
      if (e.kind !== 'get_peers') return;
      const since = world.clock.now() - turnAt;
      const w = since <= 0 ? sums.before : since <= o.afterMs / 2 ? sums.early : sums.late;
      w.lookups++;
      w.queried += e.queried;
      w.failed += e.failed;
      w.durationMs += e.durationMs;
    });
    let mine = 0;
    // Daemons start at different offsets so their lookups do not move in lockstep.
    const offset = world.int(o.lookupEveryMs);
    timers.push(
      world.clock.setTimeout(() => {
        timers.push(
          every(world.clock, o.lookupEveryMs, () => {
            if (mine >= MAX_IN_FLIGHT_PER_DAEMON) return;
            mine++;
            inFlight++;
            lookups++;
            void (async () => {
              try {
                const target = victim && world.int(VICTIM_LOOKUP_EVERY) === 0 ? victim : world.randomId();
                for await (const _peer of node.dht.getPeers(target)) void _peer;
              } catch {
                // A failed lookup is part of what the detector sees (timeouts), not an error here.
              } finally {
                mine--;
                inFlight--;
              }
            })();
          }),
        );
      }, offset),
    );
  });

  await world.clock.advance(o.beforeMs);
  if (ctx.adversaries) ctx.adversaries.hostile = true;
  for (let i = 0; i < late; i++)
    void ctx
      .addPeer(ctx.bootstrap, true)
      .dht.start()
      .catch(() => undefined);
  await world.clock.advance(o.afterMs);
  for (const t of timers) t.cancel();
  for (const s of services) s.stop();
  await world.clock.runUntil(() => inFlight === 0, DRAIN_MS, 100);
  const density = await probeDensity(
    daemons,
    victim ?? victimItem(o.seed).target,
    () => world.randomId(),
    world.clock,
  );

  const delays = outcomes
    .flatMap((d) => (d.firstAfterMs === undefined ? [] : [d.firstAfterMs]))
    .sort((a, b) => a - b);
  const result: AnomalySimResult = {
    adversary: o.adversary ?? 'none',
    fraction: o.adversary ? o.fraction : 0,
    join: o.join,
    nodes: o.nodes,
    seed: o.seed,
    daemons: daemons.length,
    tickMs: o.tickMs,
    flaggedAfter: outcomes.filter((d) => d.firstAfterMs !== undefined).length,
    flaggedBefore: outcomes.filter((d) => d.firstBeforeMs !== undefined).length,
    tickRateAfter: ticks.after > 0 ? ticks.flaggedAfter / ticks.after : 0,
    tickRateBefore: ticks.before > 0 ? ticks.flaggedBefore / ticks.before : 0,
    medianDelayMs: delays.length > 0 ? (delays[Math.floor(delays.length / 2)] as number) : null,
    byRule,
    byRuleBefore,
    daemonsByRule: daemonsByRule(rulesAfter, rulesBefore),
    topReplyShare: {
      before: {
        mean: round3(shares.before.sum / Math.max(1, shares.before.n)),
        max: round3(shares.before.max),
      },
      after: { mean: round3(shares.after.sum / Math.max(1, shares.after.n)), max: round3(shares.after.max) },
    },
    windowReplyShare: {
      before: windowPeaks.map((p) => round3(p.before)),
      after: windowPeaks.map((p) => round3(p.after)),
    },
    targetDensity: density,
    lookups,
    ...(ctx.adversaries?.kind === 'announce-flood' ? { flood: { ...ctx.adversaries.flood } } : {}),
    cost: {
      before: mean(sums.before),
      early: mean(sums.early),
      late: mean(sums.late),
    },
    wallMs: Math.round(performance.now() - started),
  };
  await Promise.all(world.live.map((n) => n.dht.close()));
  return result;
}

/** Random targets a daemon looks up to learn its usual 8th-closest distance. */
const DENSITY_PROBES = 8;
/** The probe reads the 8th closest (Mainline's k), as the node's lookup:finished event does. */
const DENSITY_RANK = 8;

function daemonsByRule(
  after: readonly Set<AnomalyRule>[],
  before: readonly Set<AnomalyRule>[],
): Partial<Record<AnomalyRule, { after: number; before: number }>> {
  const out: Partial<Record<AnomalyRule, { after: number; before: number }>> = {};
  const count = (sets: readonly Set<AnomalyRule>[], rule: AnomalyRule): number =>
    sets.filter((s) => s.has(rule)).length;
  for (const rule of new Set([...after, ...before].flatMap((s) => [...s])))
    out[rule] = { after: count(after, rule), before: count(before, rule) };
  return out;
}

/** Each daemon's find_node of the victim target and of random targets, run concurrently on virtual time. */
async function probeDensity(
  daemons: readonly SimNode[],
  victim: Uint8Array,
  randomId: () => Uint8Array,
  clock: { runUntil(done: () => boolean, maxMs: number, stepMs?: number): Promise<boolean> },
): Promise<{ victim: number[]; random: number[] }> {
  let pending = daemons.length;
  const out = { victim: daemons.map(() => 0), random: daemons.map(() => 0) };
  const closest = async (node: SimNode, t: Uint8Array): Promise<number | null> => {
    try {
      return (
        rankLog2Distance(
          t,
          (await node.dht.findNode(t)).map((c) => c.id),
          DENSITY_RANK,
        ) ?? null
      );
    } catch {
      return null;
    }
  };
  daemons.forEach((node, i) => {
    void (async () => {
      const randoms: number[] = [];
      for (let j = 0; j < DENSITY_PROBES; j++) {
        const d = await closest(node, randomId());
        if (d !== null) randoms.push(d);
      }
      const v = await closest(node, victim);
      if (randoms.length > 0) {
        const usual = median(randoms);
        out.victim[i] = v === null ? 0 : round3(usual - v);
        out.random[i] = round3(Math.max(...randoms.map((d) => usual - d)));
      }
    })().finally(() => pending--);
  });
  await clock.runUntil(() => pending === 0, DRAIN_MS * 4, 100);
  return out;
}

/** The top /24's share of the replies summed over the window (0 under `minReplies`), as subnet-replies reads it. */
export function windowTopShare(window: readonly ReadonlyMap<string, number>[], minReplies: number): number {
  const sums = new Map<string, number>();
  let total = 0;
  for (const m of window) {
    for (const [subnet, n] of m) {
      total += n;
      sums.set(subnet, (sums.get(subnet) ?? 0) + n);
    }
  }
  if (total === 0 || total < minReplies) return 0;
  let top = 0;
  for (const n of sums.values()) top = Math.max(top, n);
  return top / total;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function mean(w: { lookups: number; queried: number; failed: number; durationMs: number }): {
  lookups: number;
  queried: number;
  failed: number;
  durationMs: number;
} {
  const n = Math.max(1, w.lookups);
  const r = (x: number): number => Math.round((x / n) * 10) / 10;
  return { lookups: w.lookups, queried: r(w.queried), failed: r(w.failed), durationMs: r(w.durationMs) };
}
