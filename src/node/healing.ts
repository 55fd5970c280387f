/**
 * Self-healing: notice that the routing table is lost and rejoin.
 *
 * A node loses its table when everyone it knew is gone or unreachable: a network outage, a
 * laptop suspended for hours, a NAT that forgot us. Maintenance alone cannot recover, since it
 * refreshes from the contacts it has. Each maintenance tick asks `check`: the table is lost when
 * it is empty after we had joined, or when a tick saw LOST_AFTER_TIMEOUTS timeouts and not one
 * reply. The node then runs a bootstrap round over the last healthy snapshot of its table
 * (kept here, HEAL_SNAPSHOT_CONTACTS of them), the saved table it started with, and the routers,
 * at most once per HEAL_MIN_INTERVAL_MS.
 */
import type { ExportedTable } from '../kademlia/routing-table.js';

/** Contacts kept from the last healthy table, to rejoin through when the routers are gone too. */
export const HEAL_SNAPSHOT_CONTACTS = 64;
/** Timeouts in one maintenance tick, with no reply at all, that mean we are cut off. */
export const LOST_AFTER_TIMEOUTS = 8;
/** Rejoin attempts are at least this far apart, ms (the routers must not be hammered). */
export const HEAL_MIN_INTERVAL_MS = 60_000;

export type LostReason = 'empty' | 'silent';

export class Healer {
  private replies = 0;
  private timeouts = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private snapshot: ExportedTable['nodes'] = [];
  private snapshotId = '';

  noteReply(): void {
    this.replies++;
  }

  noteTimeout(): void {
    this.timeouts++;
  }

  /**
   * Once per maintenance tick: why the table looks lost (and a rejoin is due), or undefined.
   * While the table looks healthy, keep a snapshot of it.
   */
  check(
    now: number,
    state: { joined: boolean; size: number; k: number; exportTable: () => ExportedTable },
  ): LostReason | undefined {
    const { replies, timeouts } = this;
    this.replies = 0;
    this.timeouts = 0;
    if (!state.joined) return undefined;
    let reason: LostReason | undefined;
    if (state.size === 0) reason = 'empty';
    else if (replies === 0 && timeouts >= LOST_AFTER_TIMEOUTS) reason = 'silent';
    else if (replies > 0 && state.size >= state.k) {
      const table = state.exportTable();
      this.snapshotId = table.id;
      this.snapshot = table.nodes.slice(0, HEAL_SNAPSHOT_CONTACTS);
    }
    if (reason === undefined || now - this.lastAttempt < HEAL_MIN_INTERVAL_MS) return undefined;
    this.lastAttempt = now;
    return reason;
  }

  /** The last healthy snapshot, merged into `saved` (the table the node started from). */
  saved(saved: ExportedTable | undefined): ExportedTable | undefined {
    if (this.snapshot.length === 0) return saved;
    return { id: saved?.id ?? this.snapshotId, nodes: [...this.snapshot, ...(saved?.nodes ?? [])] };
  }
}
