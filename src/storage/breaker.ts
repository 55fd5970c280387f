/**
 * A circuit breaker for a remote item backend (Redis): the node never blocks or fails on it.
 *
 * Every record is also kept in a memory mirror (bounded by the item store's own cap, since the
 * store drives both). While the backend answers (`closed`), reads go to it. The first call that
 * fails or takes longer than BREAKER_CALL_TIMEOUT_MS opens the breaker: reads are served from the
 * mirror, writes go to the mirror only and are remembered as dirty, and a probe retries the
 * backend every BREAKER_PROBE_MS. When a probe answers, the whole live mirror is written back
 * (a restarted Redis without persistence has lost everything, not just what changed), pending
 * deletes are replayed, and the breaker closes. Each change is reported through `onChange`.
 */
import type { Clock, Timer } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { KadmiumError } from '../util/errors.js';
import { type ItemBackend, MemoryItemBackend, type StoredItem } from './item-store.js';

/** A backend call slower than this counts as a failure, ms. */
export const BREAKER_CALL_TIMEOUT_MS = 1_000;
/** While open, how often the backend is probed, ms. */
export const BREAKER_PROBE_MS = 2_000;
/** Deletes remembered while open; beyond this the oldest is dropped (and counted). */
export const MAX_PENDING_DELETES = 10_000;
/** Records written back per resync batch. */
const RESYNC_BATCH = 500;
/** Catch-up rounds for writes that arrive during a resync before it gives up and retries later. */
const RESYNC_ROUNDS = 10;

export type BreakerState = 'closed' | 'open' | 'resyncing';

export interface BreakerChange {
  state: BreakerState;
  /** Why it opened (the backend's error), or what the resync did. */
  detail: string;
  /** Records written while open (resync writes the whole mirror back). */
  dirty: number;
}

export class BreakerItemBackend implements ItemBackend {
  private readonly mirror = new MemoryItemBackend();
  private stateNow: BreakerState = 'closed';
  private readonly dirty = new Map<string, Uint8Array>();
  private readonly deletes = new Map<string, Uint8Array>();
  private probeTimer: Timer | undefined;
  private closed = false;
  /** Deletes dropped because MAX_PENDING_DELETES was reached while open. */
  droppedDeletes = 0;

  constructor(
    private readonly primary: ItemBackend,
    private readonly clock: Clock,
    private readonly onChange: (change: BreakerChange) => void = () => {},
  ) {}

  get state(): BreakerState {
    return this.stateNow;
  }

  async store(item: StoredItem): Promise<boolean> {
    const fresh = await this.mirror.store(item);
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.store(item));
      if (r.ok) return r.value;
    }
    const key = toHex(item.target);
    this.dirty.set(key, item.target);
    this.deletes.delete(key);
    return fresh;
  }

  async load(target: Uint8Array): Promise<StoredItem | undefined> {
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.load(target));
      if (r.ok) return r.value;
    }
    return this.mirror.load(target);
  }

  async list(limit: number): Promise<StoredItem[]> {
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.list(limit));
      if (r.ok) return r.value;
    }
    return this.mirror.list(limit);
  }

  async expire(until: number, max?: number): Promise<number> {
    const local = await this.mirror.expire(until, max);
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.expire(until, max));
      if (r.ok) return r.value;
    }
    // Redis also expires its keys by itself; the next sweep after the resync catches the rest.
    return local;
  }

  async delete(target: Uint8Array): Promise<boolean> {
    const local = await this.mirror.delete(target);
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.delete(target));
      if (r.ok) return r.value;
    }
    const key = toHex(target);
    this.dirty.delete(key);
    this.deletes.set(key, target);
    if (this.deletes.size > MAX_PENDING_DELETES) {
      const oldest = this.deletes.keys().next().value;
      if (oldest !== undefined) this.deletes.delete(oldest);
      this.droppedDeletes++;
    }
    return local;
  }

  async count(): Promise<number> {
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.count());
      if (r.ok) return r.value;
    }
    return this.mirror.count();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.probeTimer?.cancel();
    await Promise.all([this.primary.close().catch(() => undefined), this.mirror.close()]);
  }

  /** One backend call within BREAKER_CALL_TIMEOUT_MS; a failure opens the breaker. */
  private async call<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    let timer: Timer | undefined;
    try {
      const value = await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = this.clock.setTimeout(
            () =>
              reject(
                new KadmiumError(
                  'STORAGE_SLOW',
                  `the storage backend took over ${BREAKER_CALL_TIMEOUT_MS} ms; serving from memory`,
                ),
              ),
            BREAKER_CALL_TIMEOUT_MS,
          );
        }),
      ]);
      return { ok: true, value };
    } catch (err) {
      this.open(err);
      return { ok: false };
    } finally {
      timer?.cancel();
    }
  }

  private open(err: unknown): void {
    if (this.stateNow !== 'closed' || this.closed) return;
    this.stateNow = 'open';
    this.onChange({
      state: 'open',
      detail: `storage backend failed (${err instanceof Error ? err.message : String(err)}); serving from memory, writes queued`,
      dirty: this.dirty.size,
    });
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.probeTimer = this.clock.setTimeout(() => void this.probe(), BREAKER_PROBE_MS);
  }

  /** Ask the backend something cheap; when it answers, write the mirror back and close. */
  private async probe(): Promise<void> {
    if (this.closed || this.stateNow !== 'open') return;
    this.stateNow = 'resyncing';
    try {
      await this.within(this.primary.load(new Uint8Array(20)));
      const now = this.clock.now();
      const changed = this.dirty.size;
      this.dirty.clear();
      // Everything live, stalest first: the mirror holds at most the store's cap.
      const all = (await this.mirror.list(Number.MAX_SAFE_INTEGER)).filter((item) => item.expiresAt > now);
      await this.writeBack(all);
      let deleted = 0;
      // Writes that land during the resync are dirty again: a few more rounds catch them.
      for (let round = 0; this.dirty.size > 0 || this.deletes.size > 0; round++) {
        if (round >= RESYNC_ROUNDS) throw new Error('writes keep coming faster than the resync');
        const targets = [...this.deletes.values()];
        this.deletes.clear();
        for (const target of targets) await this.within(this.primary.delete(target));
        deleted += targets.length;
        const keys = [...this.dirty.values()];
        this.dirty.clear();
        const items = await Promise.all(keys.map((t) => this.mirror.load(t)));
        await this.writeBack(items.filter((i): i is StoredItem => i !== undefined));
      }
      this.stateNow = 'closed';
      this.onChange({
        state: 'closed',
        detail: `storage backend back: wrote ${all.length} live item(s) back (${changed} changed while it was down), replayed ${deleted} delete(s)`,
        dirty: 0,
      });
    } catch {
      if (this.closed) return;
      this.stateNow = 'open';
      this.scheduleProbe();
    }
  }

  private async writeBack(items: readonly StoredItem[]): Promise<void> {
    for (let i = 0; i < items.length; i += RESYNC_BATCH)
      await this.within(
        Promise.all(items.slice(i, i + RESYNC_BATCH).map((item) => this.primary.store(item))),
      );
  }

  private within<T>(p: Promise<T>): Promise<T> {
    let timer: Timer | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(
          () => reject(new KadmiumError('STORAGE_SLOW', 'resync timed out')),
          BREAKER_CALL_TIMEOUT_MS * 5,
        );
      }),
    ]).finally(() => timer?.cancel());
  }
}
