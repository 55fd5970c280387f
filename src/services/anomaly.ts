/**
 * A simple, explainable anomaly detector over per-tick message counts.
 *
 * Every rule compares the current tick with a rolling baseline: an exponentially weighted moving
 * average (EWMA) and variance of the same count over past ticks. A rule fires when the count is
 *   - at least a floor (`min*`), so quiet nodes do not flag one stray packet,
 *   - above `ratio` times the baseline mean, and
 *   - above mean + `z` standard deviations (for the global rules),
 * and only after `warmupTicks` ticks, so the baseline means something.
 *
 * Rules:
 *   inbound-spike  inbound queries (plus dropped messages) jump far above their usual rate
 *   error-spike    timeouts + error replies to our queries jump (a partition, or we are filtered)
 *   dropped-spike  malformed, unsolicited or rate-limited messages jump (garbage or reflection)
 *   subnet-flood   one /24 (IPv6: /48) sends at least `floodShare` of all inbound messages, and far
 *                  more than its own baseline (a single host or network hammering us)
 *   subnet-replies one /24 sent at least `replyShare` of the replies to our own queries over the
 *                  last `replyWindowTicks` ticks (at least `minReplies` of them): a Sybil cluster
 *                  answering our lookups. A fixed level, not a jump over a baseline: measured in
 *                  the simulator (docs/SECURITY.md), a cluster already present is queried as often
 *                  while honest as after it turns, so only its share gives it away. The 15 %
 *                  default sits above every honest 30 s window measured (at most 6.2 % with
 *                  random lookups, 13.7 % when a quarter of them go to one target) and below most
 *                  windows with a 10 % Sybil cluster (docs/SECURITY.md, the threshold sweep).
 *   target-density a lookup's k-th closest answering node sits at least `densityBits` bits (log2
 *                  XOR distance) closer to its target than this node's usual level: ids placed
 *                  around one target, a targeted eclipse. With n nodes spread evenly the k-th
 *                  closest of any target lies near the same distance (about log2(k / n) + 160
 *                  bits), so the node learns its level from its own lookups and no network size
 *                  is configured. The usual level is the median over the last `densityWindow`
 *                  distinct targets (one entry per target: a target looked up again and again
 *                  neither weighs more in the baseline nor gets more chances to cross it), and
 *                  the rule waits for `densityMinTargets` of them. Measured: 3 bits sit above
 *                  every honest target and below every targeted-eclipse daemon (docs/SECURITY.md).
 *
 * A flagged tick still feeds the baseline, but at a quarter of the weight: a one-off burst does
 * not poison it, while a lasting change of level becomes the new normal within minutes.
 * A flag stays active until `coolDownTicks` ticks pass without the rule firing again.
 */

export type AnomalyRule =
  'inbound-spike' | 'error-spike' | 'dropped-spike' | 'subnet-flood' | 'subnet-replies' | 'target-density';

export const ANOMALY_RULES: readonly AnomalyRule[] = [
  'inbound-spike',
  'error-spike',
  'dropped-spike',
  'subnet-flood',
  'subnet-replies',
  'target-density',
];

/**
 * The rules that read per-prefix counts (/24, IPv6 /48): the reason the statistics service counts
 * addresses by prefix at all, named in the daemon's privacy report (daemon/privacy.ts).
 */
export const PREFIX_RULES: readonly AnomalyRule[] = ['subnet-flood', 'subnet-replies'];

/** Counts over one tick. */
export interface TickCounts {
  /** Clock time at the end of the tick, ms. */
  at: number;
  /** Queries received (accepted). */
  inbound: number;
  /** Timeouts plus KRPC error replies to our queries. */
  errors: number;
  /** Malformed, unsolicited and rate-limited messages. */
  dropped: number;
  /** Inbound queries and dropped messages by source subnet ("1.2.3" for 1.2.3.0/24). */
  bySubnet: ReadonlyMap<string, number>;
  /** Replies to our own queries by source subnet (the subnet-replies rule; absent: never fires). */
  repliesBySubnet?: ReadonlyMap<string, number>;
  /**
   * Lookups that finished in the tick, by target (hex): the log2 XOR distance of the k-th closest
   * node that answered (the target-density rule; absent: never fires). Bounded by its producer.
   */
  lookupDistances?: ReadonlyMap<string, number>;
}

export interface AnomalyOptions {
  /** Ticks observed before any rule may fire. */
  warmupTicks?: number;
  /** EWMA weight of the newest tick (0-1). */
  alpha?: number;
  /** Standard deviations above the mean that count as a spike. */
  z?: number;
  /** Times the baseline mean a count must exceed. */
  ratio?: number;
  /** Floors per tick: a count below its floor never fires. */
  minInbound?: number;
  minErrors?: number;
  minDropped?: number;
  minFlood?: number;
  /** Share of all inbound messages one subnet must send to count as a flood (0-1). */
  floodShare?: number;
  /** Share of our replies one subnet must send, over the window, to count as a cluster (0-1). */
  replyShare?: number;
  /** Replies the window must hold before subnet-replies may fire. */
  minReplies?: number;
  /** Ticks the subnet-replies window spans. */
  replyWindowTicks?: number;
  /** Bits (log2 XOR distance) a lookup's k-th closest must sit below the usual level to fire. */
  densityBits?: number;
  /** Distinct recent targets whose k-th-closest distance makes the usual level (their median). */
  densityWindow?: number;
  /** Distinct targets seen before target-density may fire. */
  densityMinTargets?: number;
  /** Ticks a flag stays active after it last fired. */
  coolDownTicks?: number;
  /** Subnets whose baseline is tracked (the quietest are forgotten first). */
  maxSubnets?: number;
  /** Flags kept in the history. */
  maxHistory?: number;
}

export interface Anomaly {
  rule: AnomalyRule;
  /** What it is about: "inbound", "errors", "dropped", a subnet like "10.0.0.0/24", or a target (hex). */
  subject: string;
  /** The count that fired, per tick. */
  value: number;
  /** The baseline mean it was compared with, per tick. */
  baseline: number;
  /** The level it had to exceed. */
  threshold: number;
  /** Clock time it first fired (this episode) and last fired. */
  since: number;
  lastAt: number;
  /** Ticks it fired in this episode. */
  ticks: number;
  message: string;
}

interface Baseline {
  mean: number;
  variance: number;
}

export const DEFAULT_ANOMALY_OPTIONS: Required<AnomalyOptions> = {
  warmupTicks: 30,
  alpha: 0.05,
  z: 4,
  ratio: 3,
  minInbound: 50,
  minErrors: 10,
  minDropped: 10,
  minFlood: 30,
  floodShare: 0.5,
  replyShare: 0.15,
  minReplies: 100,
  // 30 s at the daemon's 1-second tick: one tick holds too few of a node's own replies.
  replyWindowTicks: 30,
  // Measured by the end-of-run probe (docs/SECURITY.md): honest targets at most 2.4 bits below
  // the usual level, the targeted eclipse's victim at least 4 bits below it.
  densityBits: 3,
  densityWindow: 64,
  densityMinTargets: 16,
  coolDownTicks: 30,
  maxSubnets: 1024,
  maxHistory: 50,
};

export class AnomalyDetector {
  readonly options: Required<AnomalyOptions>;
  private ticks = 0;
  private readonly global = new Map<'inbound' | 'errors' | 'dropped', Baseline>();
  private readonly subnets = new Map<string, Baseline>();
  /** Replies by subnet over the last replyWindowTicks ticks, oldest first (each map bounded by its producer). */
  private readonly replyWindow: ReadonlyMap<string, number>[] = [];
  /** k-th-closest log2 distance of the last densityWindow distinct targets, least recent first. */
  private readonly densityTargets = new Map<string, number>();
  /** Active flags by "rule subject". */
  private readonly activeFlags = new Map<string, Anomaly & { lastTick: number }>();
  private readonly history: Anomaly[] = [];
  /** Episodes raised so far per rule, for the metrics counter. */
  readonly raised: Record<AnomalyRule, number> = {
    'inbound-spike': 0,
    'error-spike': 0,
    'dropped-spike': 0,
    'subnet-flood': 0,
    'subnet-replies': 0,
    'target-density': 0,
  };

  constructor(options: AnomalyOptions = {}) {
    this.options = { ...DEFAULT_ANOMALY_OPTIONS, ...options };
    for (const [key, value] of Object.entries(this.options)) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`anomaly option ${key} must be >= 0`);
    }
    if (this.options.alpha <= 0 || this.options.alpha > 1)
      throw new RangeError('anomaly alpha must be in (0, 1]');
    if (this.options.densityBits <= 0)
      throw new RangeError('anomaly densityBits must be > 0 (bits below the usual k-th-closest distance)');
    if (this.options.densityWindow < 1 || this.options.densityMinTargets > this.options.densityWindow)
      throw new RangeError('anomaly densityWindow must be >= 1 and >= densityMinTargets');
  }

  /** Observe one tick; returns the flags that fired on it (new or continuing). */
  observe(tick: TickCounts): Anomaly[] {
    this.ticks++;
    const warm = this.ticks > this.options.warmupTicks;
    const fired: Anomaly[] = [];
    const o = this.options;
    const globals: ['inbound' | 'errors' | 'dropped', AnomalyRule, number, number, string][] = [
      ['inbound', 'inbound-spike', tick.inbound + tick.dropped, o.minInbound, 'inbound messages'],
      ['errors', 'error-spike', tick.errors, o.minErrors, 'timeouts and error replies'],
      ['dropped', 'dropped-spike', tick.dropped, o.minDropped, 'dropped messages'],
    ];
    for (const [key, rule, value, floor, what] of globals) {
      const base = this.global.get(key) ?? { mean: 0, variance: 0 };
      const threshold = Math.max(floor, base.mean * o.ratio, base.mean + o.z * Math.sqrt(base.variance));
      const hit = warm && value >= threshold;
      if (hit) {
        fired.push(
          this.raise(
            tick.at,
            rule,
            key,
            value,
            base.mean,
            threshold,
            () =>
              `${what}: ${value} in one tick against a usual ${round(base.mean)} (threshold ${round(threshold)})`,
          ),
        );
      }
      this.global.set(key, update(base, value, hit ? o.alpha / 4 : o.alpha));
    }
    fired.push(...this.floods(tick, warm));
    fired.push(...this.replyConcentration(tick, warm));
    fired.push(...this.targetDensity(tick, warm));
    this.expire();
    return fired;
  }

  /** Ticks observed so far. */
  get observed(): number {
    return this.ticks;
  }

  /** True once the warm-up is over and rules may fire. */
  get warm(): boolean {
    return this.ticks > this.options.warmupTicks;
  }

  /** Flags still active, newest first. */
  active(): Anomaly[] {
    return [...this.activeFlags.values()].sort((a, b) => b.lastAt - a.lastAt).map(strip);
  }

  /** Episodes seen (active or past), newest first. */
  recent(): Anomaly[] {
    return this.history.slice().reverse();
  }

  private floods(tick: TickCounts, warm: boolean): Anomaly[] {
    const o = this.options;
    const total = tick.inbound + tick.dropped;
    const fired: Anomaly[] = [];
    const seen = new Set<string>();
    for (const [subnet, count] of tick.bySubnet) {
      seen.add(subnet);
      const base = this.subnets.get(subnet) ?? { mean: 0, variance: 0 };
      const threshold = Math.max(o.minFlood, base.mean * o.ratio, total * o.floodShare);
      const hit = warm && count >= threshold && total > 0;
      if (hit) {
        const share = Math.round((count / total) * 100);
        const label = subnetLabel(subnet);
        fired.push(
          this.raise(
            tick.at,
            'subnet-flood',
            label,
            count,
            base.mean,
            threshold,
            () =>
              `${label} sent ${count} of ${total} inbound messages (${share}%) in one tick against a usual ${round(base.mean)}`,
          ),
        );
      }
      this.subnets.set(subnet, update(base, count, hit ? o.alpha / 4 : o.alpha));
    }
    // Silent subnets decay towards zero; the quietest are forgotten when over the cap.
    for (const [subnet, base] of this.subnets) {
      if (seen.has(subnet)) continue;
      const next = update(base, 0, o.alpha);
      if (next.mean < 0.01) this.subnets.delete(subnet);
      else this.subnets.set(subnet, next);
    }
    if (this.subnets.size > o.maxSubnets) {
      const quietest = [...this.subnets].sort((a, b) => a[1].mean - b[1].mean);
      for (const [subnet] of quietest.slice(0, this.subnets.size - o.maxSubnets)) this.subnets.delete(subnet);
    }
    return fired;
  }

  private replyConcentration(tick: TickCounts, warm: boolean): Anomaly[] {
    const o = this.options;
    if (!tick.repliesBySubnet) return [];
    this.replyWindow.push(tick.repliesBySubnet);
    while (this.replyWindow.length > Math.max(1, o.replyWindowTicks)) this.replyWindow.shift();
    if (!warm) return [];
    const sums = new Map<string, number>();
    let total = 0;
    for (const m of this.replyWindow) {
      for (const [subnet, n] of m) {
        total += n;
        sums.set(subnet, (sums.get(subnet) ?? 0) + n);
      }
    }
    if (total < o.minReplies) return [];
    let top = '';
    let count = 0;
    for (const [subnet, n] of sums) {
      // The producer's overflow bucket is many subnets, not one.
      if (subnet !== 'other' && n > count) [top, count] = [subnet, n];
    }
    const threshold = total * o.replyShare;
    if (count < threshold || count === 0) return [];
    const label = subnetLabel(top);
    const ticks = this.replyWindow.length;
    return [
      this.raise(
        tick.at,
        'subnet-replies',
        label,
        count,
        total,
        threshold,
        () =>
          `${label} sent ${count} of our ${total} replies (${Math.round((count / total) * 100)}%) over ${ticks} ticks: many contacts from one network answering our lookups (a Sybil cluster?)`,
      ),
    ];
  }

  /** The node's usual k-th-closest distance (median of its recent targets), once it has enough of them. */
  usualDensity(): number | undefined {
    if (this.densityTargets.size < Math.max(1, this.options.densityMinTargets)) return undefined;
    return median([...this.densityTargets.values()]);
  }

  private targetDensity(tick: TickCounts, warm: boolean): Anomaly[] {
    const o = this.options;
    if (!tick.lookupDistances) return [];
    // Judged against the level before this tick's lookups join it.
    const usual = warm ? this.usualDensity() : undefined;
    const fired: Anomaly[] = [];
    for (const [target, distance] of tick.lookupDistances) {
      if (usual !== undefined && usual - distance >= o.densityBits) {
        const threshold = usual - o.densityBits;
        fired.push(
          this.raise(
            tick.at,
            'target-density',
            target,
            round(distance),
            round(usual),
            round(threshold),
            () =>
              `a lookup of ${target} found its k-th closest node at 2^${round(distance)}, ${round(usual - distance)} bits closer than this node's usual 2^${round(usual)} (median of its last ${this.densityTargets.size} targets): ids placed around one target (a targeted eclipse?)`,
          ),
        );
      }
      // Re-inserting moves a target to the recent end; the least recent leave first.
      this.densityTargets.delete(target);
      this.densityTargets.set(target, distance);
    }
    for (const target of this.densityTargets.keys()) {
      if (this.densityTargets.size <= o.densityWindow) break;
      this.densityTargets.delete(target);
    }
    return fired;
  }

  private raise(
    at: number,
    rule: AnomalyRule,
    subject: string,
    value: number,
    baseline: number,
    threshold: number,
    describe: () => string,
  ): Anomaly {
    const key = `${rule} ${subject}`;
    const message = describe();
    const existing = this.activeFlags.get(key);
    if (existing) {
      Object.assign(existing, { value, baseline, threshold, lastAt: at, lastTick: this.ticks, message });
      existing.ticks++;
      const inHistory = this.history.find(
        (h) => h.rule === rule && h.subject === subject && h.since === existing.since,
      );
      if (inHistory) Object.assign(inHistory, strip(existing));
      return strip(existing);
    }
    const flag = { rule, subject, value, baseline, threshold, since: at, lastAt: at, ticks: 1, message };
    this.activeFlags.set(key, { ...flag, lastTick: this.ticks });
    this.history.push({ ...flag });
    if (this.history.length > this.options.maxHistory) this.history.shift();
    this.raised[rule]++;
    return flag;
  }

  private expire(): void {
    for (const [key, flag] of this.activeFlags) {
      if (this.ticks - flag.lastTick >= this.options.coolDownTicks) this.activeFlags.delete(key);
    }
  }
}

function update(base: Baseline, value: number, alpha: number): Baseline {
  const diff = value - base.mean;
  const incr = alpha * diff;
  return { mean: base.mean + incr, variance: (1 - alpha) * (base.variance + diff * incr) };
}

function strip(flag: Anomaly & { lastTick?: number }): Anomaly {
  const { lastTick: _ignored, ...rest } = flag;
  return { ...rest };
}

/** Median of a non-empty list (the upper one of an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] as number;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** "1.2.3" -> "1.2.3.0/24"; IPv6 "2001:db8:1" -> "2001:db8:1::/48". */
export function subnetLabel(subnet: string): string {
  return subnet.includes(':') ? `${subnet}::/48` : `${subnet}.0/24`;
}
