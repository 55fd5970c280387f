/**
 * One lookup's view for the reputation (reputation.ts), shared by both DHTs: who referred whom (to
 * blame referrals that do not exist on the referrer), answers and timeouts, and values withheld
 * by the closest nodes. Moved here from node/lookups.ts unchanged, so that the overlay's lookups
 * judge with the same code; the overlay adds one hook, `deadOnFailure` (below).
 */
import { addressKey } from '../transport/address.js';
import { KadmiumError, TimeoutError } from '../util/errors.js';
import { compareDistance } from './id.js';
import type { LookupResult } from './lookup.js';
import { type Reputation, WITHHELD_WEIGHT } from './reputation.js';
import type { Contact } from './routing-table.js';

/** A referrer whose referrals time out this many times, none answering, referred contacts that do not exist. */
export const DEAD_REFERRALS_LIE = 3;

/** Refused before sending: the contact's reputation says it lies. Counted as a failed query. */
export class DistrustedError extends KadmiumError {
  constructor(contact: Contact) {
    super('DISTRUSTED', `${addressKey(contact.address)} is distrusted (it lied before); not queried`);
  }
}

export class LookupJudge {
  /** Referred contact -> the contact that referred it first. Bounded by the lookup's own candidates. */
  private readonly referredBy = new Map<string, Contact>();
  /** What became of each queried contact: it answered, or it was still silent at the short timeout. */
  private readonly outcomes = new Map<string, 'alive' | 'slow'>();

  constructor(
    private readonly reputation: Reputation,
    /** Called once for a contact that has just become distrusted: drop it from the table. */
    private readonly drop: (contact: Contact) => void,
    /**
     * Whether a failed query shows the contact does not exist (counted like a silent one). Over
     * UDP only silence says so; over streams a refused dial or a key other than the one referred
     * says so after one round trip, before any short timeout fires. Absent: silence only.
     */
    private readonly deadOnFailure?: (err: unknown) => boolean,
  ) {}

  /** Throws for a distrusted contact: it is not queried, its referrals never enter the lookup. */
  admit(contact: Contact): void {
    if (!this.reputation.trusted(addressKey(contact.address))) throw new DistrustedError(contact);
  }

  answered(contact: Contact, nodes: readonly Contact[]): void {
    const key = addressKey(contact.address);
    this.reputation.answered(key);
    this.outcomes.set(key, 'alive');
    for (const n of nodes) {
      const k = addressKey(n.address);
      if (!this.referredBy.has(k)) this.referredBy.set(k, contact);
    }
  }

  /**
   * A query past the short timeout is noted as silent at once: the lookup may end before the full
   * timeout, and a dead referral must still be seen. A late answer clears it (see settle).
   */
  slow(contact: Contact, onSlow: () => void): () => void {
    return () => {
      const key = addressKey(contact.address);
      if (this.outcomes.get(key) !== 'alive') this.outcomes.set(key, 'slow');
      onSlow();
    };
  }

  failed(contact: Contact, err: unknown): void {
    if (this.deadOnFailure?.(err) === true) {
      const key = addressKey(contact.address);
      if (this.outcomes.get(key) !== 'alive') this.outcomes.set(key, 'slow');
    }
    if (!(err instanceof TimeoutError)) return;
    this.reputation.timedOut(addressKey(contact.address));
  }

  /**
   * At the end of the lookup: a referrer none of whose queried referrals answered, and at least
   * DEAD_REFERRALS_LIE of which stayed silent, invented them. Judged only now, because a slow
   * honest contact often answers before the lookup ends (adaptive short timeouts fire early).
   */
  settle(): void {
    const tally = new Map<string, { referrer: Contact; dead: number; alive: number }>();
    for (const [key, outcome] of this.outcomes) {
      const referrer = this.referredBy.get(key);
      if (!referrer) continue;
      const rk = addressKey(referrer.address);
      const t = tally.get(rk) ?? { referrer, dead: 0, alive: 0 };
      if (outcome === 'alive') t.alive++;
      else t.dead++;
      tally.set(rk, t);
    }
    for (const t of tally.values()) {
      if (t.alive === 0 && t.dead >= DEAD_REFERRALS_LIE) this.lie(t.referrer, 1);
    }
  }

  /** Nodes closer to the target than the farthest one that had the value, yet answered without it. */
  withheld<R>(target: Uint8Array, result: LookupResult<R>, hasValue: (reply: R) => boolean): void {
    const closest = [...result.closest].sort((a, b) => compareDistance(target, a.contact.id, b.contact.id));
    let farthest: Contact | undefined;
    for (const entry of closest) if (hasValue(entry.result)) farthest = entry.contact;
    if (!farthest) return;
    for (const entry of closest) {
      if (entry.contact === farthest) break;
      if (compareDistance(target, entry.contact.id, farthest.id) >= 0) break;
      if (!hasValue(entry.result)) this.lie(entry.contact, WITHHELD_WEIGHT);
    }
  }

  /** Record a lie (a forged value, found by the caller); a contact no longer trusted is dropped. */
  lie(contact: Contact, weight: number): void {
    // A contact we no longer trust is not one to keep or to hand out to others.
    if (this.reputation.lied(addressKey(contact.address), weight)) this.drop(contact);
  }
}
