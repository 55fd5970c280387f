/**
 * The statistics service: subscribes to a node's event bus, reads its `stats()` and routing
 * table, and keeps what operators look at: message rates over time, lookup latency histograms,
 * recent lookups, node churn, warnings, and anomaly flags (services/anomaly.ts). Metrics
 * (services/metrics.ts), the HTTP API and the dashboard read from here; protocol code knows
 * nothing of it.
 */
import { type DhtEvents, LOOKUP_KINDS, type LookupKind } from '../node/events.js';
import type { Dht } from '../node/dht.js';
import type { FeatureBreakers, FeatureStatus } from '../node/feature-breakers.js';
import { subnetKey } from '../transport/address.js';
import { toHex } from '../util/bytes.js';
import { type Clock, every, type Timer } from '../util/clock.js';
import { EventBus } from '../util/events.js';
import { type Anomaly, AnomalyDetector } from './anomaly.js';
import { Histogram, type HistogramSnapshot } from './histogram.js';
import { RuntimeMonitor, type RuntimeSnapshot } from './runtime.js';

/** What the service reads from a node. `Dht` satisfies it. */
import type { FamilyReport } from '../node/family.js';
export type StatisticsSource = Pick<Dht, 'id' | 'events' | 'table' | 'peers' | 'clock' | 'stats'> & {
  /** The node's feature breakers: a throwing statistics listener or tick is switched off, not fatal. */
  features?: FeatureBreakers;
};
/** The statistics' name in the feature breakers, events and status. */
export const STATISTICS_FEATURE = 'statistics';

export interface StatisticsOptions {
  /** Length of one tick (rates and anomaly checks), ms. */
  tickMs?: number;
  /** Ticks of rate history kept. */
  historyTicks?: number;
  /** Recent lookups kept. */
  maxLookups?: number;
  detector?: AnomalyDetector;
  /** Count of stored BEP 44 items, when an item store is plugged in. */
  itemCount?: () => Promise<number>;
}

/** Messages per second over one tick. */
export interface RateSample {
  at: number;
  queriesIn: number;
  queriesOut: number;
  responsesIn: number;
  errors: number;
  timeouts: number;
  dropped: number;
}

/** A finished lookup as the dashboard lists it: the event, with a time and a hex target. */
export type LookupRecord = Omit<DhtEvents['lookup:finished'], 'target'> & { at: number; target: string };

export interface StatisticsEvents {
  tick: { sample: RateSample; anomalies: Anomaly[] };
  /** A flag that fired for the first time in its episode. */
  anomaly: Anomaly;
}

export const TICK_MS = 1_000;
export const HISTORY_TICKS = 300;
export const MAX_LOOKUPS = 50;
/** Distinct subnets counted per tick; the rest are lumped together. */
export const MAX_SUBNETS_PER_TICK = 4_096;
/** Distinct lookup targets one tick passes to the target-density rule; lookups beyond them are not judged. */
export const MAX_LOOKUP_TARGETS_PER_TICK = 256;
/** Distinct warning codes counted. */
export const MAX_WARNING_CODES = 32;

interface TickCounter {
  queriesIn: number;
  queriesOut: number;
  responsesIn: number;
  errors: number;
  timeouts: number;
  dropped: number;
  bySubnet: Map<string, number>;
  /** Replies to our queries by source subnet. */
  repliesBySubnet: Map<string, number>;
  /** Lookups finished, by target (hex): the k-th closest answerer's log2 distance, the latest per target. */
  lookupDistances: Map<string, number>;
}

export class Statistics {
  readonly events = new EventBus<StatisticsEvents>();
  /** Event-loop delay and GC pauses, measured while started. */
  readonly runtime = new RuntimeMonitor();
  readonly detector: AnomalyDetector;
  readonly startedAt: number;
  readonly tickMs: number;
  /** Lookups finished, by kind and outcome. */
  readonly lookupsTotal = new Map<string, number>();
  readonly latency = new Map<LookupKind, Histogram>();
  /** Time to the first result (first peer, first item), beside `latency`'s time to convergence. */
  readonly firstResult = new Map<LookupKind, Histogram>();
  readonly counters = {
    nodesAdded: 0,
    evictions: { bad: 0, failed: 0 },
    peersStored: 0,
    bootstrapAttempts: 0,
    bootstrapFailures: 0,
  };
  readonly warnings = new Map<string, number>();
  lastBootstrap: { ok: boolean; message: string; at: number } | undefined;
  private readonly clock: Clock;
  private readonly historyTicks: number;
  private readonly maxLookups: number;
  private readonly series: RateSample[] = [];
  private readonly lookups: LookupRecord[] = [];
  private current: TickCounter = emptyTick();
  private tickStartedAt: number;
  private timer: Timer | undefined;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private sourceNode: StatisticsSource,
    private readonly options: StatisticsOptions = {},
  ) {
    this.clock = sourceNode.clock;
    this.tickMs = options.tickMs ?? TICK_MS;
    this.historyTicks = options.historyTicks ?? HISTORY_TICKS;
    this.maxLookups = options.maxLookups ?? MAX_LOOKUPS;
    this.detector = options.detector ?? new AnomalyDetector();
    this.startedAt = this.clock.now();
    this.tickStartedAt = this.startedAt;
    for (const kind of LOOKUP_KINDS) {
      this.latency.set(kind, new Histogram());
      this.firstResult.set(kind, new Histogram());
    }
  }

  /** The node counted now (the daemon replaces it when it rotates its id and port). */
  get source(): StatisticsSource {
    return this.sourceNode;
  }

  /**
   * Count another node from now on, keeping the history: the daemon's privacy rotation closes
   * one node and starts the next, and the rates, histograms and anomaly baselines span both.
   * The new node must run on the same clock.
   */
  attach(source: StatisticsSource): void {
    const running = this.timer !== undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    this.sourceNode = source;
    if (running) this.subscribe();
  }

  /** Subscribe to the node and start ticking. */
  start(): void {
    if (this.timer) return;
    this.runtime.start();
    this.subscribe();
    this.timer = every(this.clock, this.tickMs, () => {
      const features = this.sourceNode.features;
      if (features) features.run(STATISTICS_FEATURE, () => this.tick(), undefined);
      else this.tick();
    });
  }

  private subscribe(): void {
    const bus = this.source.events;
    // A listener that throws would throw into the node's own code (emit runs listeners inline):
    // statistics are optional, so a throw switches them off for a back-off instead.
    const features = this.sourceNode.features;
    const g = <T>(fn: (e: T) => void): ((e: T) => void) =>
      features ? features.guard(STATISTICS_FEATURE, fn) : fn;
    const countSubnet = (host: string, m = this.current.bySubnet): void => {
      const key = m.size < MAX_SUBNETS_PER_TICK || m.has(subnetKey(host)) ? subnetKey(host) : 'other';
      m.set(key, (m.get(key) ?? 0) + 1);
    };
    this.unsubscribe.push(
      bus.on(
        'query:in',
        g((e) => {
          this.current.queriesIn++;
          countSubnet(e.from.host);
        }),
      ),
      bus.on(
        'query:out',
        g(() => this.current.queriesOut++),
      ),
      bus.on(
        'response:in',
        g((e) => {
          this.current.responsesIn++;
          countSubnet(e.from.host, this.current.repliesBySubnet);
        }),
      ),
      bus.on(
        'query:error',
        g(() => this.current.errors++),
      ),
      bus.on(
        'query:timeout',
        g(() => this.current.timeouts++),
      ),
      bus.on(
        'message:dropped',
        g((e) => {
          this.current.dropped++;
          countSubnet(e.from.host);
        }),
      ),
      bus.on(
        'node:added',
        g(() => this.counters.nodesAdded++),
      ),
      bus.on(
        'node:evicted',
        g((e) => this.counters.evictions[e.reason]++),
      ),
      bus.on(
        'peer:stored',
        g(() => this.counters.peersStored++),
      ),
      bus.on(
        'lookup:finished',
        g((e) => {
          this.recordLookup(e);
          this.recordDistance(e);
        }),
      ),
      bus.on(
        'bootstrap',
        g((e) => {
          this.counters.bootstrapAttempts++;
          if (!e.ok) this.counters.bootstrapFailures++;
          this.lastBootstrap = { ok: e.ok, message: e.message, at: this.clock.now() };
        }),
      ),
      bus.on(
        'warning',
        g((e) => {
          const code = this.warnings.has(e.code) || this.warnings.size < MAX_WARNING_CODES ? e.code : 'OTHER';
          this.warnings.set(code, (this.warnings.get(code) ?? 0) + 1);
        }),
      ),
    );
  }

  stop(): void {
    this.runtime.stop();
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Close the current tick now: record its rates and run the anomaly rules. Called by the timer. */
  tick(): RateSample {
    const now = this.clock.now();
    const seconds = Math.max(0.001, (now - this.tickStartedAt) / 1000);
    const c = this.current;
    this.current = emptyTick();
    this.tickStartedAt = now;
    const rate = (n: number): number => Math.round((n / seconds) * 100) / 100;
    const sample: RateSample = {
      at: now,
      queriesIn: rate(c.queriesIn),
      queriesOut: rate(c.queriesOut),
      responsesIn: rate(c.responsesIn),
      errors: rate(c.errors),
      timeouts: rate(c.timeouts),
      dropped: rate(c.dropped),
    };
    this.series.push(sample);
    if (this.series.length > this.historyTicks) this.series.shift();
    const anomalies = this.detector.observe({
      at: now,
      inbound: c.queriesIn,
      errors: c.errors + c.timeouts,
      dropped: c.dropped,
      bySubnet: c.bySubnet,
      repliesBySubnet: c.repliesBySubnet,
      lookupDistances: c.lookupDistances,
    });
    for (const a of anomalies) if (a.ticks === 1) this.events.emit('anomaly', a);
    this.events.emit('tick', { sample, anomalies });
    return sample;
  }

  /** Rate history, oldest first. */
  rates(): RateSample[] {
    return this.series.slice();
  }

  /** Recent lookups, newest first. */
  recentLookups(): LookupRecord[] {
    return this.lookups.slice().reverse();
  }

  latencySnapshot(): Record<string, HistogramSnapshot> {
    return Object.fromEntries([...this.latency].map(([kind, h]) => [kind, h.snapshot()]));
  }

  /** Time to the first result per kind (only kinds that return results: get_peers, get). */
  firstResultSnapshot(): Record<string, HistogramSnapshot> {
    return Object.fromEntries(
      [...this.firstResult]
        .filter(([, h]) => h.snapshot().count > 0)
        .map(([kind, h]) => [kind, h.snapshot()]),
    );
  }

  async storageCounts(): Promise<{ infohashes: number; peers: number; items?: number }> {
    const counts = await this.source.peers.counts();
    if (!this.options.itemCount) return counts;
    return { ...counts, items: await this.options.itemCount() };
  }

  /** Everything the status endpoint and the dashboard show, in one JSON-ready object. */
  async snapshot(): Promise<StatisticsSnapshot> {
    const now = this.clock.now();
    const stats = this.source.stats();
    const memory = process.memoryUsage();
    return {
      at: now,
      id: stats.id,
      address: stats.address ? `${stats.address.host}:${stats.address.port}` : null,
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      bootstrapped: stats.bootstrapped,
      lastBootstrap: this.lastBootstrap ?? null,
      routingTable: { ...stats.routingTable, buckets: this.source.table.describe(now) },
      inFlight: stats.inFlight,
      messages: stats.rpc ?? null,
      tokenRotations: stats.tokenRotations,
      nat: stats.nat
        ? {
            kind: stats.nat.kind,
            mapping: stats.nat.mapping,
            filtering: stats.nat.filtering,
            external: `${stats.nat.external.host}:${stats.nat.external.port}`,
            observersAgree: stats.nat.observersAgree,
          }
        : null,
      punch: stats.punch,
      families: (stats.families as FamilyReport | undefined) ?? null,
      contactBreakers: stats.contactBreakers,
      features: stats.features,
      counters: structuredClone(this.counters),
      warnings: Object.fromEntries(this.warnings),
      storage: await this.storageCounts(),
      rates: this.rates(),
      latency: this.latencySnapshot(),
      firstResult: this.firstResultSnapshot(),
      lookups: this.recentLookups(),
      anomalies: { active: this.detector.active(), recent: this.detector.recent() },
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal },
      runtime: this.runtime.snapshot(),
    };
  }

  /** For the target-density rule; a full tick drops the surplus (a burst of lookups is no baseline). */
  private recordDistance(e: DhtEvents['lookup:finished']): void {
    if (e.kthLog2Distance === undefined) return;
    const m = this.current.lookupDistances;
    const target = toHex(e.target);
    if (m.size < MAX_LOOKUP_TARGETS_PER_TICK || m.has(target)) m.set(target, e.kthLog2Distance);
  }

  private recordLookup(e: DhtEvents['lookup:finished']): void {
    const key = `${e.kind} ${e.ok ? 'ok' : 'failed'}`;
    this.lookupsTotal.set(key, (this.lookupsTotal.get(key) ?? 0) + 1);
    this.latency.get(e.kind)?.observe(e.durationMs / 1000);
    this.lookups.push({
      at: this.clock.now(),
      kind: e.kind,
      target: toHex(e.target),
      durationMs: e.durationMs,
      queried: e.queried,
      responded: e.responded,
      failed: e.failed,
      hops: e.hops,
      found: e.found,
      ok: e.ok,
      firstResultMs: e.firstResultMs,
    });
    if (e.firstResultMs !== undefined) this.firstResult.get(e.kind)?.observe(e.firstResultMs / 1000);
    if (this.lookups.length > this.maxLookups) this.lookups.shift();
  }
}

export interface StatisticsSnapshot {
  at: number;
  id: string;
  address: string | null;
  uptimeSeconds: number;
  bootstrapped: boolean;
  lastBootstrap: { ok: boolean; message: string; at: number } | null;
  routingTable: { size: number; buckets: ReturnType<StatisticsSource['table']['describe']> };
  inFlight: number;
  messages: ReturnType<StatisticsSource['stats']>['rpc'] | null;
  tokenRotations: number;
  /** The last NAT discovery (dht.discoverNat), or null before one ran. */
  nat: { kind: string; mapping: string; filtering: string; external: string; observersAgree: boolean } | null;
  punch: { punched: number; failed: number; introductions: number };
  /** IPv6 first: the family new contacts prefer, and each family's table size and external address. */
  families: FamilyReport | null;
  /** Per-contact breakers: addresses tracked, breakers opened, lookup queries skipped. */
  contactBreakers: { tracked: number; opened: number; skipped: number };
  /** Optional features that ever threw: on again, or off until when (node/feature-breakers.ts). */
  features: FeatureStatus[];
  counters: Statistics['counters'];
  warnings: Record<string, number>;
  storage: { infohashes: number; peers: number; items?: number };
  rates: RateSample[];
  latency: Record<string, HistogramSnapshot>;
  /** Time to the first peer / item, by kind, beside `latency` (time to convergence). */
  firstResult: Record<string, HistogramSnapshot>;
  lookups: LookupRecord[];
  anomalies: { active: Anomaly[]; recent: Anomaly[] };
  memory: { rss: number; heapUsed: number; heapTotal: number };
  /** Event-loop delay and GC pauses (services/runtime.ts). */
  runtime: RuntimeSnapshot;
}

function emptyTick(): TickCounter {
  return {
    queriesIn: 0,
    queriesOut: 0,
    responsesIn: 0,
    errors: 0,
    timeouts: 0,
    dropped: 0,
    bySubnet: new Map(),
    repliesBySubnet: new Map(),
    lookupDistances: new Map(),
  };
}
