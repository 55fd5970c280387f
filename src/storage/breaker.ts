/**
 * An item backend behind a circuit breaker (breaker-core.ts): a Redis outage degrades to memory
 * instead of failing puts and gets.
 *
 * Several nodes may share one Redis dataset (full nodes of the overlay, sibling Mainline nodes).
 * While this node was cut off, another may have stored a newer version of a record, so the resync
 * writes the mirror's record back with the backend's conditional store (`storeIf`, atomic in
 * Redis), and only when it `supersedes` what the backend holds at that moment: by default a
 * higher `seq`, or at the same seq a later expiry. A policy whose sequence lives inside the value
 * (the overlay) passes its own rule.
 *
 * For the same reason the mirror also keeps what this node read from the backend (a store opening
 * lists every record): a node serves, during an outage, what the others wrote before it as well as
 * its own writes. The mirror holds at most the shared dataset, which the stores' caps bound.
 */
import type { Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { type BreakerChange, type BreakerState, StorageBreaker } from './breaker-core.js';
import {
  type ItemBackend,
  MemoryItemBackend,
  type StoreDecider,
  type StoredItem,
  type StoreIfOutcome,
} from './item-store.js';

export {
  BREAKER_CALL_TIMEOUT_MS,
  BREAKER_PROBE_MS,
  type BreakerChange,
  type BreakerState,
  MAX_PENDING_DELETES,
} from './breaker-core.js';

/** True when `mine` (the mirror's) should replace `theirs` (the backend's) in a resync. */
export type Supersedes = (mine: StoredItem, theirs: StoredItem) => boolean;

/** BEP 44's rule: the higher seq wins; at the same seq (or immutable) the later expiry. */
export const supersedesBySeq: Supersedes = (mine, theirs) => {
  const a = mine.seq ?? 0;
  const b = theirs.seq ?? 0;
  return a !== b ? a > b : mine.expiresAt > theirs.expiresAt;
};

/** A probe target no record has (SHA-1 and overlay targets are never all zero in practice). */
const PROBE_TARGET = new Uint8Array(20);

export class BreakerItemBackend implements ItemBackend {
  private readonly mirror = new MemoryItemBackend();
  private readonly breaker: StorageBreaker<Uint8Array, StoredItem>;

  constructor(
    private readonly primary: ItemBackend,
    private readonly clock: Clock,
    onChange: (change: BreakerChange) => void = () => {},
    supersedes: Supersedes = supersedesBySeq,
  ) {
    this.breaker = new StorageBreaker<Uint8Array, StoredItem>(
      {
        backendName: 'storage backend',
        recordName: 'item',
        ping: () => primary.load(PROBE_TARGET),
        live: async () => {
          const now = this.clock.now();
          return (await this.mirror.list(Number.MAX_SAFE_INTEGER)).filter((i) => i.expiresAt > now);
        },
        fromMirror: (target) => this.mirror.load(target),
        // The comparison and the write are one conditional store: a sibling's newer put that
        // lands while we resync is seen, never overwritten.
        writeBack: async (item) =>
          (await primary.storeIf(item.target, (theirs) =>
            theirs && !supersedes(item, theirs) ? undefined : item,
          )) !== 'kept',
        deleteBack: (target) => primary.delete(target),
      },
      clock,
      onChange,
    );
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  /** Deletes dropped because too many were pending while the backend was down. */
  get droppedDeletes(): number {
    return this.breaker.droppedDeletes;
  }

  async store(item: StoredItem): Promise<boolean> {
    const fresh = await this.mirror.store(item);
    const r = await this.breaker.attempt(() => this.primary.store(item));
    if (r.ok) return r.value;
    this.breaker.written(toHex(item.target), item.target);
    return fresh;
  }

  /**
   * The backend's conditional store while it answers, the mirror then keeping what the backend
   * holds; the mirror's when the breaker is (or this call makes it) open, and the resync writes
   * the result back under the `supersedes` rule. `decide` may thus run on both: it is pure.
   */
  async storeIf(target: Uint8Array, decide: StoreDecider): Promise<StoreIfOutcome> {
    const seen: { held?: StoredItem | undefined; next?: StoredItem | undefined } = {};
    const r = await this.breaker.attempt(() =>
      this.primary.storeIf(target, (held) => {
        seen.held = held;
        seen.next = decide(held);
        return seen.next;
      }),
    );
    if (r.ok) {
      const kept = r.value === 'kept' ? seen.held : seen.next;
      if (kept) await this.mirror.store(kept);
      return r.value;
    }
    const outcome = await this.mirror.storeIf(target, decide);
    if (outcome !== 'kept') this.breaker.written(toHex(target), target);
    return outcome;
  }

  async load(target: Uint8Array): Promise<StoredItem | undefined> {
    const r = await this.breaker.attempt(() => this.primary.load(target));
    if (!r.ok) return this.mirror.load(target);
    if (r.value) await this.mirror.store(r.value);
    return r.value;
  }

  async list(limit: number): Promise<StoredItem[]> {
    const r = await this.breaker.attempt(() => this.primary.list(limit));
    if (!r.ok) return this.mirror.list(limit);
    for (const item of r.value) await this.mirror.store(item);
    return r.value;
  }

  async expire(until: number, max?: number): Promise<number> {
    const local = await this.mirror.expire(until, max);
    // Redis also expires its keys by itself; the first sweep after a resync catches the rest.
    const r = await this.breaker.attempt(() => this.primary.expire(until, max));
    return r.ok ? r.value : local;
  }

  async delete(target: Uint8Array): Promise<boolean> {
    const local = await this.mirror.delete(target);
    const r = await this.breaker.attempt(() => this.primary.delete(target));
    if (r.ok) return r.value;
    this.breaker.deleted(toHex(target), target);
    return local;
  }

  async count(): Promise<number> {
    const r = await this.breaker.attempt(() => this.primary.count());
    return r.ok ? r.value : this.mirror.count();
  }

  async close(): Promise<void> {
    this.breaker.close();
    await Promise.all([this.primary.close().catch(() => undefined), this.mirror.close()]);
  }
}
