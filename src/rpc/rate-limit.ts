/**
 * Per-source token buckets for inbound queries. Bounded: when the table is full the stalest
 * buckets are dropped, which only ever forgives a sender, never blocks a new one.
 */
export interface RateLimitOptions {
  /** Sustained queries per second allowed from one IP. */
  perSecond: number;
  /** Bucket size: the burst one IP may send at once. */
  burst: number;
  /** Most IPs tracked at once. */
  maxTracked: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 250, burst: 500, maxTracked: 10_000 };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT) {}

  /** Take one token for `key` at clock time `now`; false means drop the query. */
  allow(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.options.maxTracked) this.evict(now);
      bucket = { tokens: this.options.burst, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      const refill = ((now - bucket.updatedAt) / 1000) * this.options.perSecond;
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + refill);
      bucket.updatedAt = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get tracked(): number {
    return this.buckets.size;
  }

  /** Drop buckets that have refilled completely (they carry no state); if none, the oldest tenth. */
  private evict(now: number): void {
    const fullAfterMs = (this.options.burst / this.options.perSecond) * 1000;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAt >= fullAfterMs) this.buckets.delete(key);
    }
    if (this.buckets.size < this.options.maxTracked) return;
    let n = Math.ceil(this.options.maxTracked / 10);
    for (const key of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
