/**
 * Per-source token buckets for inbound queries. Bounded: when the table is full the stalest
 * buckets are dropped, which only ever forgives a sender, never blocks a new one.
 *
 * A source is an IPv4 address or an IPv6 /64: one IPv6 host commonly holds a whole /64, so keying
 * on the full address would hand it 2^64 fresh buckets.
 *
 * A source the limiter has dropped a query from stays `limited` for LIMITED_FOR_MS after its last
 * drop, whatever its bucket holds by then: the node keeps such a sender out of its routing table,
 * and a flood that pauses for a second must not look honest again.
 */
import { ipv6ToBytes } from '../transport/ip.js';

export interface RateLimitOptions {
  /** Sustained queries per second allowed from one source. */
  perSecond: number;
  /** Bucket size: the burst one source may send at once. */
  burst: number;
  /** Most sources tracked at once. */
  maxTracked: number;
  /**
   * A second budget shared by a whole IPv4 /24 (IPv6 /48): one operator's many addresses, the
   * Sybil's usual holding. Default DEFAULT_SUBNET_LIMIT; false for none.
   */
  subnet?: { perSecond: number; burst: number } | false;
}

/** Per /24: four busy hosts' worth, so a NAT pool or a campus keeps working while one flooder cannot. */
export const DEFAULT_SUBNET_LIMIT = { perSecond: 1000, burst: 2000 };

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 250, burst: 500, maxTracked: 10_000 };

/** The subnet limiter's key: the IPv4 /24 (`1.2.3.0/24`) or the IPv6 /48. */
export function subnetKey(host: string): string {
  if (!host.includes(':') || (host.toLowerCase().startsWith('::ffff:') && host.includes('.'))) {
    const v4 = host.includes(':') ? host.slice(7) : host;
    const last = v4.lastIndexOf('.');
    return last < 0 ? v4 : `${v4.slice(0, last)}.0/24`;
  }
  if (!ipv6ToBytes(host, V6)) return host;
  let key = '';
  for (let i = 0; i < 6; i += 2) key += `${HEX[V6[i] as number]}${HEX[V6[i + 1] as number]}:`;
  return `${key}:/48`;
}

/** How long a source counts as limited after the limiter last dropped one of its queries. */
export const LIMITED_FOR_MS = 60_000;

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the last query was dropped; -Infinity when none was. */
  droppedAt: number;
}

/** Scratch for IPv6 parsing: the key is built before the next call. */
const V6 = new Uint8Array(16);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The limiter's key for a source host: the IPv4 address itself (an IPv4-mapped IPv6 address
 * counts as its IPv4 address), or the /64 of an IPv6 address as `2001:db8:0:1::/64` style hex.
 */
export function rateLimitKey(host: string): string {
  if (!host.includes(':')) return host;
  const lower = host.toLowerCase();
  if (lower.startsWith('::ffff:') && lower.includes('.')) return lower.slice(7);
  if (!ipv6ToBytes(host, V6)) return host;
  let key = '';
  for (let i = 0; i < 8; i += 2) key += `${HEX[V6[i] as number]}${HEX[V6[i + 1] as number]}:`;
  return `${key}:/64`;
}

/** 127/8, ::1 and IPv4-mapped 127/8: this machine. */
export function isLoopbackHost(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.toLowerCase().startsWith('::ffff:127.');
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * `onLimit` is told when a key starts being limited: its first drop after LIMITED_FOR_MS
   * without one.
   */
  constructor(
    readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    private readonly onLimit?: (key: string) => void,
  ) {}

  /** Take one token for `key` at clock time `now`; false means drop the query. */
  allow(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.options.maxTracked) this.evict(now);
      bucket = { tokens: this.options.burst, updatedAt: now, droppedAt: -Infinity };
      this.buckets.set(key, bucket);
    } else {
      const refill = ((now - bucket.updatedAt) / 1000) * this.options.perSecond;
      bucket.tokens = Math.min(this.options.burst, bucket.tokens + refill);
      bucket.updatedAt = now;
    }
    if (bucket.tokens < 1) {
      const started = now - bucket.droppedAt >= LIMITED_FOR_MS;
      bucket.droppedAt = now;
      if (started) this.onLimit?.(key);
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }

  /** True when a query from `key` was dropped within the last LIMITED_FOR_MS. */
  limited(key: string, now: number): boolean {
    const bucket = this.buckets.get(key);
    return bucket !== undefined && now - bucket.droppedAt < LIMITED_FOR_MS;
  }

  get tracked(): number {
    return this.buckets.size;
  }

  /**
   * Drop buckets that have refilled completely and dropped nothing lately (they carry no
   * state); if that frees nothing, the oldest tenth.
   */
  private evict(now: number): void {
    const fullAfterMs = (this.options.burst / this.options.perSecond) * 1000;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAt >= fullAfterMs && now - bucket.droppedAt >= LIMITED_FOR_MS)
        this.buckets.delete(key);
    }
    if (this.buckets.size < this.options.maxTracked) return;
    let n = Math.ceil(this.options.maxTracked / 10);
    for (const key of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}
