/**
 * Admission at a total cap, shared by the store policies (peers, items): how many records are
 * held, and how a new one finds room. A full store must cost what an empty one does per operation
 * (issue 11: re-counting and sweeping the whole backend on every announce at the cap let ~21
 * announces a second fill a core), so:
 * - the count is kept incrementally from what the backend reports (a store that added a record, a
 *   delete that found one, a sweep's total), and re-read from the backend only on first need and
 *   at most every RECOUNT_INTERVAL_MS of clock time (nodes sharing one Redis add records this
 *   process never sees);
 * - expired records are swept only when the stalest record held has expired, at most
 *   SWEEP_AT_CAP_MAX at a time, found through the backend's expiry index;
 * - otherwise the stalest records make room, unless the stalest would outlive the incoming one: a
 *   fresher record is never dropped for a staler one. A few go at once (1/1024 of the cap, at most
 *   EVICT_AT_CAP_MAX, each no fresher than the incoming record), so the next admissions find room
 *   without a write of their own: on SQLite every eviction is a commit.
 */

/** Expired records one sweep at the cap deletes at most: bounds the latency of one admission. */
export const SWEEP_AT_CAP_MAX = 256;
/** Live records one eviction at the cap deletes at most (fewer below a cap of 16 * 1024). */
export const EVICT_AT_CAP_MAX = 16;
/** How often, in clock ms, the count is re-read from the backend (at most; only while admitting). */
export const RECOUNT_INTERVAL_MS = 60_000;

/** What the policy needs from its backend to make room; each call goes through its expiry index. */
export interface CapacityBackend<R extends { readonly expiresAt: number }> {
  /** Records held in total (may be a full count: called rarely). */
  count(): Promise<number>;
  /** The stalest record held (smallest expiresAt), if any. */
  stalest(): Promise<R | undefined>;
  /** Delete up to `max` records with expiresAt <= until, stalest first; how many went. */
  expire(until: number, max?: number): Promise<number>;
}

export class Capacity<R extends { readonly expiresAt: number }> {
  /** Records held, as last known; undefined until first needed. */
  private held: number | undefined;
  /** Clock time `held` was last read from the backend. */
  private countedAt = 0;

  /** Live records one eviction deletes at most. */
  private readonly evictBatch: number;

  constructor(
    private readonly backend: CapacityBackend<R>,
    private readonly max: number,
  ) {
    this.evictBatch = Math.max(1, Math.min(EVICT_AT_CAP_MAX, Math.floor(max / 1024)));
  }

  /** The backend added a record. */
  added(): void {
    if (this.held !== undefined) this.held++;
  }

  /** The backend lost `n` records (deleted, swept). */
  removed(n: number): void {
    if (this.held !== undefined) this.held = Math.max(0, this.held - n);
  }

  /** Delete records expiring by `until` (all, or the `max` stalest), keeping the count. */
  async sweep(until: number, max?: number): Promise<number> {
    const removed = await this.backend.expire(until, max);
    this.removed(removed);
    return removed;
  }

  /**
   * Make room for one more record expiring at `incoming.expiresAt`, at clock time `now`. Resolves
   * false when the store is full of records fresher than it (it is then not to be kept).
   */
  async admit(incoming: { readonly expiresAt: number }, now: number): Promise<boolean> {
    // abs: a clock that stepped back must not put off the next recount.
    if (this.held === undefined || Math.abs(now - this.countedAt) >= RECOUNT_INTERVAL_MS)
      await this.recount(now);
    let held = this.held as number;
    // Bounded: one step per record over the cap (the cap may have been lowered on reopen).
    for (let over = held - this.max; over >= 0 && held >= this.max; over--) {
      const stalest = await this.backend.stalest();
      if (!stalest) {
        // Nothing held after all (another process emptied a shared backend): learn the truth.
        await this.recount(now);
        break;
      }
      // Sweep only when something has expired, and only what has: the index finds it.
      if (stalest.expiresAt <= now) await this.sweep(now, SWEEP_AT_CAP_MAX);
      else if (stalest.expiresAt > incoming.expiresAt) return false;
      // The stalest few, none fresher than the incoming record.
      else await this.sweep(incoming.expiresAt, this.evictBatch);
      held = this.held as number;
    }
    return true;
  }

  private async recount(now: number): Promise<void> {
    this.held = await this.backend.count();
    this.countedAt = now;
  }
}
