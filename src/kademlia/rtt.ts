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
import type { Address } from '../transport/address.js';
import { AddressSlab } from '../transport/address-slab.js';

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

/** An address's fields in the slab: the TCP estimator's state and how many samples fed it. */
const SRTT = 0;
const RTTVAR = 1;
const SAMPLES = 2;

export class RttTracker {
  /** Per address (SRTT, RTTVAR, SAMPLES), least recently heard forgotten first. */
  private readonly byAddress: AddressSlab;
  private readonly window: number[] = [];
  private next = 0;
  private sorted: number[] | undefined;

  constructor(
    /** The fixed deadline this replaces, ms: never exceeded, and used until we know better. */
    private readonly maxSlowMs: number,
    maxEntries = MAX_RTT_ENTRIES,
  ) {
    this.byAddress = new AddressSlab(3, maxEntries);
  }

  /** Keep at most `maxEntries` addresses from now on, dropping the least recently heard now. */
  limit(maxEntries: number): void {
    this.byAddress.limit(maxEntries);
  }

  get size(): number {
    return this.byAddress.size;
  }

  /** A reply arrived `rttMs` after the only send of its query. */
  observe(address: Address, rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    const e = this.byAddress;
    const slot = e.touch(address);
    const samples = e.get(slot, SAMPLES);
    if (samples > 0) {
      const srtt = e.get(slot, SRTT);
      e.set(slot, RTTVAR, 0.75 * e.get(slot, RTTVAR) + 0.25 * Math.abs(srtt - rttMs));
      e.set(slot, SRTT, 0.875 * srtt + 0.125 * rttMs);
    } else {
      e.set(slot, SRTT, rttMs);
      e.set(slot, RTTVAR, rttMs / 2);
    }
    e.set(slot, SAMPLES, samples + 1);
    if (this.window.length < RTT_WINDOW) this.window.push(rttMs);
    else this.window[this.next] = rttMs;
    this.next = (this.next + 1) % RTT_WINDOW;
    this.sorted = undefined;
  }

  /** Smoothed RTT to an address, ms, or undefined when it never answered a first attempt. */
  srtt(address: Address): number | undefined {
    const slot = this.byAddress.find(address);
    return slot < 0 ? undefined : this.byAddress.get(slot, SRTT);
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
    const slot = this.byAddress.find(address);
    const guess =
      slot >= 0
        ? this.byAddress.get(slot, SRTT) + SLOW_DEVIATIONS * this.byAddress.get(slot, RTTVAR)
        : this.quantile(UNKNOWN_SLOW_QUANTILE);
    if (guess === undefined) return this.maxSlowMs;
    return Math.min(this.maxSlowMs, Math.max(MIN_SLOW_MS, guess));
  }
}
