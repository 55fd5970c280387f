/**
 * Contact reputation: what a node has seen of each contact it queried (answers, timeouts, lies),
 * used to decide whom to query in lookups and whom to keep in the routing table.
 *
 * A lie is evidence the contact is hostile, not just unlucky: referrals to contacts that do not
 * exist (its referrals time out while others' answer), a value that fails verification, a value
 * withheld by a node closer to the target than the nodes that had it. Lies weigh LIE_COST answers:
 * an honest node that is wrong once in a while stays trusted, a node that lies often does not,
 * however many queries it answers. Timeouts alone never distrust a node (loss and churn cause
 * them); the routing table already evicts the silent ones.
 *
 * Records are keyed by address ("host:port"): an attacker picks its ids freely, its addresses less
 * so. The map is bounded (REPUTATION_MAX_CONTACTS, least recently touched dropped first).
 */

/** Contacts remembered per node; past it, the least recently touched record goes. */
export const REPUTATION_MAX_CONTACTS = 8192;
/** One lie outweighs this many answers. */
export const LIE_COST = 8;
/**
 * Weight of a withheld value: weak evidence, since an honest node may have missed the store (it
 * joined later, or the putter's view of the closest differed). At 0.1 a contact with one answer
 * survives one such miss; at 0.25 an honest node was distrusted in an attack-free run.
 */
export const WITHHELD_WEIGHT = 0.1;

export interface ReputationRecord {
  answers: number;
  timeouts: number;
  lies: number;
}

export class Reputation {
  private readonly records = new Map<string, ReputationRecord>();
  /** Contacts that went from trusted to distrusted, since the node was made. */
  distrusted = 0;

  constructor(private readonly max = REPUTATION_MAX_CONTACTS) {}

  get size(): number {
    return this.records.size;
  }

  answered(key: string): void {
    this.touch(key).answers++;
  }

  timedOut(key: string): void {
    this.touch(key).timeouts++;
  }

  /** Record a lie; true when this one made the contact distrusted. */
  lied(key: string, weight = 1): boolean {
    const before = this.trusted(key);
    this.touch(key).lies += weight;
    const now = this.trusted(key);
    if (before && !now) this.distrusted++;
    return before && !now;
  }

  /** False for a contact whose lies outweigh its answers. Unknown contacts are trusted. */
  trusted(key: string): boolean {
    const r = this.records.get(key);
    return r === undefined || r.lies === 0 || r.answers - LIE_COST * r.lies >= 0;
  }

  get(key: string): Readonly<ReputationRecord> | undefined {
    return this.records.get(key);
  }

  private touch(key: string): ReputationRecord {
    let r = this.records.get(key);
    if (r) {
      this.records.delete(key);
    } else {
      r = { answers: 0, timeouts: 0, lies: 0 };
      if (this.records.size >= this.max) {
        const oldest = this.records.keys().next().value;
        if (oldest !== undefined) this.records.delete(oldest);
      }
    }
    this.records.set(key, r);
    return r;
  }
}
