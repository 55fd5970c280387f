/**
 * Round-trip times per contact address and over all of them, for latency-aware lookups.
 *
 * Per address: a smoothed RTT and its mean deviation (the TCP estimator, RFC 6298), kept for the
 * MAX_RTT_ENTRIES addresses heard from most recently. Over all: the last RTT_WINDOW samples, so a
 * contact we never heard from gets a deadline from what this node actually sees on its network
 * instead of a constant picked for the worst one.
 *
 * Only what the RPC layer measured for a first attempt is fed in (Karn's rule): after a retry we
 * cannot tell which send the reply answered.
 */
import { type Address, addressKey } from '../transport/address.js';

/** Addresses whose RTT we remember; the least recently heard is forgotten first. */
export const MAX_RTT_ENTRIES = 4_096;
/** Recent samples kept for the network-wide distribution. */
export const RTT_WINDOW = 256;
/** Samples needed before the window's quantile replaces the fixed default. */
export const MIN_RTT_SAMPLES = 16;
/** Never call a query slow sooner than this, ms: jitter alone must not free slots. */
export const MIN_SLOW_MS = 150;
/** Deviations above the smoothed RTT before a known contact is slow (RFC 6298 uses 4). */
export const SLOW_DEVIATIONS = 4;
/** Quantile of the recent RTTs after which a query to an unknown contact is slow. */
export const UNKNOWN_SLOW_QUANTILE = 0.9;

interface Estimate {
  srtt: number;
  rttvar: number;
  samples: number;
}

export class RttTracker {
  private readonly byAddress = new Map<string, Estimate>();
  private readonly window: number[] = [];
  private next = 0;
  private sorted: number[] | undefined;

  constructor(
    /** The fixed deadline this replaces, ms: never exceeded, and used until we know better. */
    private readonly maxSlowMs: number,
    private maxEntries = MAX_RTT_ENTRIES,
  ) {}

  /** Keep at most `maxEntries` addresses from now on, dropping the least recently heard now. */
  limit(maxEntries: number): void {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
    for (const key of this.byAddress.keys()) {
      if (this.byAddress.size <= this.maxEntries) break;
      this.byAddress.delete(key);
    }
  }

  get size(): number {
    return this.byAddress.size;
  }

  /** A reply arrived `rttMs` after the only send of its query. */
  observe(address: Address, rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    const key = addressKey(address);
    const e = this.byAddress.get(key);
    if (e) {
      this.byAddress.delete(key);
      e.rttvar = 0.75 * e.rttvar + 0.25 * Math.abs(e.srtt - rttMs);
      e.srtt = 0.875 * e.srtt + 0.125 * rttMs;
      e.samples++;
      this.byAddress.set(key, e);
    } else {
      this.byAddress.set(key, { srtt: rttMs, rttvar: rttMs / 2, samples: 1 });
      if (this.byAddress.size > this.maxEntries) {
        const oldest = this.byAddress.keys().next().value;
        if (oldest !== undefined) this.byAddress.delete(oldest);
      }
    }
    if (this.window.length < RTT_WINDOW) this.window.push(rttMs);
    else this.window[this.next] = rttMs;
    this.next = (this.next + 1) % RTT_WINDOW;
    this.sorted = undefined;
  }

  /** Smoothed RTT to an address, ms, or undefined when it never answered a first attempt. */
  srtt(address: Address): number | undefined {
    return this.byAddress.get(addressKey(address))?.srtt;
  }

  /** The q-quantile (0..1) of the recent RTTs, or undefined before MIN_RTT_SAMPLES. */
  quantile(q: number): number | undefined {
    if (this.window.length < MIN_RTT_SAMPLES) return undefined;
    this.sorted ??= [...this.window].sort((a, b) => a - b);
    const i = Math.min(this.sorted.length - 1, Math.max(0, Math.ceil(q * this.sorted.length) - 1));
    return this.sorted[i];
  }

  /**
   * How long to wait for `address` before its query stops holding a lookup slot, ms: its smoothed
   * RTT plus SLOW_DEVIATIONS deviations when known, else the network's UNKNOWN_SLOW_QUANTILE;
   * within [MIN_SLOW_MS, maxSlowMs]. A slow query is not abandoned: its late reply still counts.
   */
  slowAfterMs(address: Address): number {
    const e = this.byAddress.get(addressKey(address));
    const guess = e ? e.srtt + SLOW_DEVIATIONS * e.rttvar : this.quantile(UNKNOWN_SLOW_QUANTILE);
    if (guess === undefined) return this.maxSlowMs;
    return Math.min(this.maxSlowMs, Math.max(MIN_SLOW_MS, guess));
  }
}
