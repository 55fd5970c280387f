/**
 * Circuit breakers per contact address: a contact that keeps timing out is not queried for a
 * back-off period, then one query probes it; an answer closes the breaker, another timeout
 * opens it again for twice as long.
 *
 * This is what the other per-contact state does not do. The routing table evicts a silent
 * contact after two failures, but other nodes keep referring us to it (their tables are slower
 * to forget), so without a breaker every lookup that meets the referral waits on it again.
 * Adaptive timeouts (rtt.ts) shorten each such wait, they do not skip it. Reputation
 * (reputation.ts) never distrusts for timeouts alone, since loss and churn cause them: neither
 * does this; it only stops asking for a while and always asks again.
 *
 * Keyed by address ("host:port"); the map is bounded (MAX_CONTACT_BREAKERS, least recently
 * touched dropped first). No clock of its own: callers pass the time.
 */

/** Addresses tracked; past it the least recently touched record goes (it closes). */
export const MAX_CONTACT_BREAKERS = 4_096;
/** Timeouts in a row, with no answer between, that open a contact's breaker. */
export const CONTACT_FAILURES_TO_OPEN = 3;
/** First back-off, ms; doubled on each failed probe... */
export const CONTACT_BACKOFF_MS = 30_000;
/** ...up to this, ms. */
export const MAX_CONTACT_BACKOFF_MS = 10 * 60_000;
/** A probe whose outcome never arrived (the query was abandoned) frees the slot after this, ms. */
export const PROBE_GRACE_MS = 30_000;

interface Record {
  failures: number;
  /** Clock time until which the contact is skipped; undefined while closed. */
  openUntil: number | undefined;
  backoffMs: number;
  /** Clock time the probe was let through; undefined when none is out. */
  probeAt: number | undefined;
}

export type ContactBreakerState = 'closed' | 'open' | 'probing';

export class ContactBreakers {
  private readonly records = new Map<string, Record>();
  /** Breakers opened (first time or after a failed probe), since the node was made. */
  opened = 0;
  /** Queries skipped because a breaker was open. */
  skipped = 0;

  constructor(private readonly max = MAX_CONTACT_BREAKERS) {}

  get size(): number {
    return this.records.size;
  }

  /** Whether to query this contact now. Lets one probe through once the back-off has passed. */
  allow(key: string, now: number): boolean {
    const r = this.records.get(key);
    if (r?.openUntil === undefined) return true;
    if (now < r.openUntil || (r.probeAt !== undefined && now - r.probeAt < PROBE_GRACE_MS)) {
      this.skipped++;
      return false;
    }
    r.probeAt = now;
    return true;
  }

  /** The contact answered: its breaker closes and is forgotten. */
  succeeded(key: string): void {
    this.records.delete(key);
  }

  /** A query to the contact timed out. */
  failed(key: string, now: number): void {
    const r = this.touch(key);
    r.failures++;
    if (r.probeAt !== undefined) {
      // The probe failed: open again, for longer.
      r.backoffMs = Math.min(MAX_CONTACT_BACKOFF_MS, r.backoffMs * 2);
      this.open(r, now);
    } else if (r.openUntil === undefined && r.failures >= CONTACT_FAILURES_TO_OPEN) {
      this.open(r, now);
    }
  }

  state(key: string, now: number): ContactBreakerState {
    const r = this.records.get(key);
    if (r?.openUntil === undefined) return 'closed';
    if (r.probeAt !== undefined && now - r.probeAt < PROBE_GRACE_MS) return 'probing';
    return 'open';
  }

  private open(r: Record, now: number): void {
    r.openUntil = now + r.backoffMs;
    r.probeAt = undefined;
    this.opened++;
  }

  private touch(key: string): Record {
    let r = this.records.get(key);
    if (r) {
      this.records.delete(key);
    } else {
      r = { failures: 0, openUntil: undefined, backoffMs: CONTACT_BACKOFF_MS, probeAt: undefined };
      if (this.records.size >= this.max) {
        const oldest = this.records.keys().next().value;
        if (oldest !== undefined) this.records.delete(oldest);
      }
    }
    this.records.set(key, r);
    return r;
  }
}
