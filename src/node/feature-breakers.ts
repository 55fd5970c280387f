/**
 * Breakers for optional features (issue 15, item 7). A node can do without its path cache, its
 * announce keep-alive or a statistics listener; it cannot do without its socket loop. So code that
 * runs an optional feature runs it through `FeatureBreakers`: the first throw switches that
 * feature off for FEATURE_BACKOFF_MS, a repeat after the back-off doubles it (up to
 * FEATURE_MAX_BACKOFF_MS), and every change is reported (`onChange`, which the node turns into a
 * `feature` event, the daemon into a log line, the status snapshot into its `features` list). The
 * error never reaches the caller: the feature's fallback (do nothing) stands in.
 *
 * Not for essential work (answering queries, lookups, storage: storage has its own breakers in
 * src/storage/) and not for expected failures (a timeout is an outcome, not a fault): only for
 * throws that mean the feature's own code or state is broken.
 */
import type { Clock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';

/** How long a feature stays off after its first failure... */
export const FEATURE_BACKOFF_MS = 60_000;
/** ...doubling with each failure after a back-off, up to this. */
export const FEATURE_MAX_BACKOFF_MS = 30 * 60_000;
/** Feature names tracked; names are a fixed set in code, this only bounds a mistake. */
export const MAX_FEATURES = 64;
/** Error messages are cut to this many characters in reports. */
const MAX_ERROR_CHARS = 200;

/** An explicit call to a feature that is switched off (discoverNat while STUN is off, say). */
export class FeatureOffError extends KadmiumError {
  constructor(
    readonly feature: string,
    /** How long until it is tried again. */
    readonly offForMs: number,
    cause?: unknown,
  ) {
    super(
      'FEATURE_OFF',
      `${feature} failed and is off for another ${Math.ceil(offForMs / 1000)} s; ` +
        'dht.stats().features shows its error; try again after that',
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * What each feature's fallback gives up, for the event, the status snapshot and the log line.
 * The names are the constants beside each feature's code (STUN_FEATURE in nat.ts, ...).
 */
export const FEATURE_DEGRADES: Readonly<Record<string, string>> = {
  'announce-keepalive': 'no keep-alive pings to the nodes holding our announces',
  statistics: 'statistics stopped',
  'path-cache': 'no copies cached along lookup paths',
  stun: 'STUN and TURN datagrams dropped, NAT discovery refused',
  'external-ip': 'external-address votes ignored: id and external address kept',
  'relay-client': 'datagrams go direct and relay offers are refused',
  'relay-server': 'frames for relayed peers dropped',
  'dashboard-feed': 'dashboards get no new snapshots',
  'overlay-reconcile': 'no reconciling with other full nodes',
  'overlay-advert': 'the full-node advert is not published',
};

export interface FeatureChange {
  feature: string;
  /** `off`: it threw and is switched off until `offUntilMs`; `on`: it ran again without throwing. */
  state: 'off' | 'on';
  /** Failures since it last ran cleanly. */
  failures: number;
  error?: string;
  offUntilMs?: number;
  /** What the node does without it (FEATURE_DEGRADES), when switched off. */
  degraded?: string;
}

export interface FeatureStatus {
  feature: string;
  state: 'on' | 'off';
  failures: number;
  /** Times it was switched off since the node started. */
  trips: number;
  lastError?: string;
  offUntilMs?: number;
  /** What the node does without it, while it is off. */
  degraded?: string;
}

interface FeatureRecord {
  failures: number;
  trips: number;
  offUntilMs: number;
  lastError?: string;
}

export class FeatureBreakers {
  private readonly features = new Map<string, FeatureRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly onChange: (change: FeatureChange) => void = () => undefined,
  ) {}

  /** Whether the feature may run now (off only during its back-off). */
  allowed(feature: string): boolean {
    const r = this.features.get(feature);
    return r === undefined || r.offUntilMs <= this.clock.now();
  }

  /** How long until an off feature is tried again (0 when it is on). */
  offFor(feature: string): number {
    const r = this.features.get(feature);
    return r ? Math.max(0, r.offUntilMs - this.clock.now()) : 0;
  }

  /**
   * An explicit call (not a background task): throws FeatureOffError while the feature is off.
   * Expected failures (a KadmiumError: a timeout, an abort) reach the caller as they are; any
   * other throw is a fault: it switches the feature off and reaches the caller as FEATURE_OFF.
   */
  async call<T>(feature: string, fn: () => Promise<T>): Promise<T> {
    if (!this.allowed(feature)) throw new FeatureOffError(feature, this.offFor(feature));
    let failure: unknown;
    const out = await this.runAsync<{ value: T } | undefined>(
      feature,
      async () => {
        try {
          return { value: await fn() };
        } catch (err) {
          failure = err;
          if (err instanceof KadmiumError) return undefined;
          throw err;
        }
      },
      undefined,
    );
    if (out) return out.value;
    if (failure instanceof KadmiumError) throw failure;
    throw new FeatureOffError(feature, this.offFor(feature), failure);
  }

  /** Run `fn` unless the feature is off; a throw switches it off and returns `fallback`. */
  run<T>(feature: string, fn: () => T, fallback: T): T {
    if (!this.allowed(feature)) return fallback;
    let out: T;
    try {
      out = fn();
    } catch (err) {
      this.failed(feature, err);
      return fallback;
    }
    this.succeeded(feature);
    return out;
  }

  /** As `run`, for a feature whose work is asynchronous: a rejection counts as a throw. */
  async runAsync<T>(feature: string, fn: () => Promise<T>, fallback: T): Promise<T> {
    if (!this.allowed(feature)) return fallback;
    let out: T;
    try {
      out = await fn();
    } catch (err) {
      this.failed(feature, err);
      return fallback;
    }
    this.succeeded(feature);
    return out;
  }

  /** A callback (timer, event listener) that runs through the breaker and never throws. */
  guard<A extends unknown[]>(feature: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => this.run(feature, () => fn(...args), undefined);
  }

  /** Every feature that ever failed, for the status snapshot. */
  status(): FeatureStatus[] {
    const now = this.clock.now();
    return [...this.features].map(([feature, r]) => ({
      feature,
      state: r.offUntilMs > now ? 'off' : 'on',
      failures: r.failures,
      trips: r.trips,
      ...(r.lastError !== undefined ? { lastError: r.lastError } : {}),
      ...(r.offUntilMs > now ? { offUntilMs: r.offUntilMs } : {}),
      ...(r.offUntilMs > now && FEATURE_DEGRADES[feature] !== undefined
        ? { degraded: FEATURE_DEGRADES[feature] }
        : {}),
    }));
  }

  private failed(feature: string, err: unknown): void {
    let r = this.features.get(feature);
    if (!r) {
      if (this.features.size >= MAX_FEATURES) {
        // Forget a feature that is on again (its history only), never one that is off.
        const now = this.clock.now();
        for (const [name, old] of this.features)
          if (old.offUntilMs <= now) {
            this.features.delete(name);
            break;
          }
        if (this.features.size >= MAX_FEATURES) return;
      }
      r = { failures: 0, trips: 0, offUntilMs: 0 };
      this.features.set(feature, r);
    }
    r.failures++;
    r.trips++;
    const backoff = featureBackoffMs(r.failures);
    r.offUntilMs = this.clock.now() + backoff;
    const error = describe(err);
    r.lastError = error;
    const degraded = FEATURE_DEGRADES[feature];
    this.report({
      feature,
      state: 'off',
      failures: r.failures,
      error,
      offUntilMs: r.offUntilMs,
      ...(degraded !== undefined ? { degraded } : {}),
    });
  }

  private succeeded(feature: string): void {
    const r = this.features.get(feature);
    if (!r || r.failures === 0) return;
    r.failures = 0;
    this.report({ feature, state: 'on', failures: 0 });
  }

  private report(change: FeatureChange): void {
    // The reporter is itself optional: a throwing log sink must not undo the isolation.
    try {
      this.onChange(change);
    } catch {
      // Nothing left to tell.
    }
  }
}

/** How long a feature stays off after its `failures`-th failure in a row. */
export function featureBackoffMs(failures: number): number {
  return Math.min(FEATURE_MAX_BACKOFF_MS, FEATURE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}
