/**
 * Adaptive bucket refresh (issue 15 item 4): the refresh interval follows the churn the node
 * observes instead of BEP 5's fixed 15 minutes. Refresh exists to replace contacts that left; if
 * a fraction `f` of our contacts dies per minute, a bucket loses `f * T` of its members between
 * refreshes `T` apart. The pacer picks `T` so that this loss is about LOSS_PER_REFRESH (one
 * contact of a bucket of 8), within [MIN_REFRESH_INTERVAL_MS, MAX_REFRESH_INTERVAL_MS].
 *
 * The churn estimate is the rate at which table contacts are evicted for not answering, per
 * table contact per minute, smoothed over maintenance ticks. It only sees contacts we talked
 * to, so it under-reads on a quiet node; that errs towards the upper bound, the idle case
 * where refresh traffic is least useful anyway. Until a first full tick it answers the fixed
 * BEP 5 interval.
 *
 * The token lifetime is adaptive already (issue 14: `Dht.setTokenPressure`, docs/SECURITY.md).
 */
import { GOOD_FOR_MS } from '../kademlia/routing-table.js';

/** BEP 5's interval, used before the pacer has an estimate, ms. */
export const FIXED_REFRESH_INTERVAL_MS = GOOD_FOR_MS;
/** Never refresh a bucket more often than this, however high the churn, ms. */
export const MIN_REFRESH_INTERVAL_MS = 5 * 60_000;
/** Never leave a bucket unrefreshed longer than this, however calm the network, ms. */
export const MAX_REFRESH_INTERVAL_MS = 60 * 60_000;
/** Share of a bucket we accept losing between two refreshes. */
export const LOSS_PER_REFRESH = 1 / 8;
/** Weight of the newest tick in the smoothed churn estimate. */
export const CHURN_SMOOTHING = 0.2;

export class RefreshPacer {
  private lastAt: number | undefined;
  private lastEvictions = 0;
  /** Smoothed evictions per table contact per ms; undefined until the first full tick. */
  private rate: number | undefined;

  /**
   * One maintenance tick: `evictions` is the running count of contacts evicted for failing,
   * `contacts` the table's size now.
   */
  tick(now: number, evictions: number, contacts: number): void {
    const since = this.lastAt;
    const evicted = evictions - this.lastEvictions;
    this.lastAt = now;
    this.lastEvictions = evictions;
    if (since === undefined || now <= since || contacts <= 0) return;
    const sample = evicted / contacts / (now - since);
    this.rate = this.rate === undefined ? sample : this.rate + CHURN_SMOOTHING * (sample - this.rate);
  }

  /** The churn estimate, fraction of contacts lost per minute (undefined before a first tick). */
  get churnPerMinute(): number | undefined {
    return this.rate === undefined ? undefined : this.rate * 60_000;
  }

  /** How long a bucket may stay untouched before it is refreshed, ms. */
  intervalMs(): number {
    if (this.rate === undefined) return FIXED_REFRESH_INTERVAL_MS;
    if (this.rate <= 0) return MAX_REFRESH_INTERVAL_MS;
    return Math.min(MAX_REFRESH_INTERVAL_MS, Math.max(MIN_REFRESH_INTERVAL_MS, LOSS_PER_REFRESH / this.rate));
  }
}
