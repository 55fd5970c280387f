/**
 * A circuit breaker for a remote peer backend (Redis), the peer-store twin of breaker.ts: a
 * Redis outage must not fail announces or empty get_peers answers, nor block the node.
 *
 * Every announce is also kept in a memory mirror (bounded by the peer store's own caps, since the
 * store drives both). While the backend answers (`closed`), reads go to it. The first call that
 * fails or takes longer than BREAKER_CALL_TIMEOUT_MS opens the breaker: reads are served from the
 * mirror, writes go to the mirror only, deletes are remembered, and the backend is probed every
 * BREAKER_PROBE_MS. When a probe answers, every live record in the mirror is written back (a
 * restarted Redis without persistence lost them all), pending deletes are replayed, and the
 * breaker closes. Each change is reported through `onChange`, its detail naming the peer store.
 */
import type { Address } from '../transport/address.js';
import { addressKey } from '../transport/address.js';
import type { Clock, Timer } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { KadmiumError } from '../util/errors.js';
import {
  BREAKER_CALL_TIMEOUT_MS,
  BREAKER_PROBE_MS,
  type BreakerChange,
  type BreakerState,
  MAX_PENDING_DELETES,
} from './breaker.js';
import { MemoryPeerBackend, type PeerBackend, type PeerRecord } from './peer-store.js';

/** Records written back per resync batch. */
const RESYNC_BATCH = 500;
/** Catch-up rounds for deletes that arrive during a resync before it gives up and retries later. */
const RESYNC_ROUNDS = 10;

type MaybePromise<T> = T | Promise<T>;

export class BreakerPeerBackend implements PeerBackend {
  private readonly mirror = new MemoryPeerBackend();
  private stateNow: BreakerState = 'closed';
  /** Announces stored while open, only counted: the resync writes the whole mirror back. */
  private dirty = 0;
  private readonly deletes = new Map<string, { infohash: Uint8Array; address: Address }>();
  private probeTimer: Timer | undefined;
  private closed = false;
  /** Deletes dropped because MAX_PENDING_DELETES was reached while open. */
  droppedDeletes = 0;

  constructor(
    private readonly primary: PeerBackend,
    private readonly clock: Clock,
    private readonly onChange: (change: BreakerChange) => void = () => {},
  ) {}

  get state(): BreakerState {
    return this.stateNow;
  }

  async store(record: PeerRecord): Promise<boolean> {
    const fresh = await this.mirror.store(record);
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.store(record));
      if (r.ok) return r.value;
    }
    this.dirty++;
    this.deletes.delete(key(record.infohash, record.address));
    return fresh;
  }

  async loadOne(infohash: Uint8Array, address: Address): Promise<PeerRecord | undefined> {
    return this.read(
      () => this.primary.loadOne(infohash, address),
      () => this.mirror.loadOne(infohash, address),
    );
  }

  load(infohash: Uint8Array): MaybePromise<PeerRecord[]> {
    if (this.stateNow !== 'closed') return this.mirror.load(infohash);
    return this.read(
      async () => this.primary.load(infohash),
      () => this.mirror.load(infohash),
    );
  }

  list(limit: number, infohash?: Uint8Array): Promise<PeerRecord[]> {
    return this.read(
      () => this.primary.list(limit, infohash),
      () => this.mirror.list(limit, infohash),
    );
  }

  async expire(until: number, max?: number): Promise<number> {
    const local = await this.mirror.expire(until, max);
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.expire(until, max));
      if (r.ok) return r.value;
    }
    return local;
  }

  async delete(infohash: Uint8Array, address: Address): Promise<boolean> {
    const local = await this.mirror.delete(infohash, address);
    if (this.stateNow === 'closed') {
      const r = await this.call(() => this.primary.delete(infohash, address));
      if (r.ok) return r.value;
    }
    this.deletes.set(key(infohash, address), { infohash, address });
    if (this.deletes.size > MAX_PENDING_DELETES) {
      const oldest = this.deletes.keys().next().value;
      if (oldest !== undefined) this.deletes.delete(oldest);
      this.droppedDeletes++;
    }
    return local;
  }

  countFor(infohash: Uint8Array): Promise<number> {
    return this.read(
      () => this.primary.countFor(infohash),
      () => this.mirror.countFor(infohash),
    );
  }

  counts(): Promise<{ infohashes: number; peers: number }> {
    return this.read(
      () => this.primary.counts(),
      () => this.mirror.counts(),
    );
  }

  infohashes(max: number): Promise<Uint8Array[]> {
    return this.read(
      () => this.primary.infohashes(max),
      () => this.mirror.infohashes(max),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.probeTimer?.cancel();
    await Promise.all([this.primary.close().catch(() => undefined), this.mirror.close()]);
  }

  /** The backend's answer while closed and answering, else the mirror's. */
  private async read<T>(primary: () => Promise<T>, mirror: () => MaybePromise<T>): Promise<T> {
    if (this.stateNow === 'closed') {
      const r = await this.call(primary);
      if (r.ok) return r.value;
    }
    return mirror();
  }

  /** One backend call within BREAKER_CALL_TIMEOUT_MS; a failure opens the breaker. */
  private async call<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    try {
      return { ok: true, value: await this.within(fn(), BREAKER_CALL_TIMEOUT_MS) };
    } catch (err) {
      this.open(err);
      return { ok: false };
    }
  }

  private open(err: unknown): void {
    if (this.stateNow !== 'closed' || this.closed) return;
    this.stateNow = 'open';
    this.dirty = 0;
    this.onChange({
      state: 'open',
      detail: `peer storage backend failed (${err instanceof Error ? err.message : String(err)}); serving peers from memory, writes queued`,
      dirty: 0,
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
      const slow = BREAKER_CALL_TIMEOUT_MS * 5;
      await this.within(this.primary.countFor(new Uint8Array(20)), slow);
      const changed = this.dirty;
      const now = this.clock.now();
      // Everything live: the mirror holds at most the peer store's cap.
      const all = (await this.mirror.list(Number.MAX_SAFE_INTEGER)).filter((r) => r.expiresAt > now);
      for (let i = 0; i < all.length; i += RESYNC_BATCH)
        await this.within(
          Promise.all(all.slice(i, i + RESYNC_BATCH).map((r) => this.primary.store(r))),
          slow,
        );
      let deleted = 0;
      for (let round = 0; this.deletes.size > 0; round++) {
        if (round >= RESYNC_ROUNDS) throw new Error('deletes keep coming faster than the resync');
        const pending = [...this.deletes.values()];
        this.deletes.clear();
        for (const d of pending) await this.within(this.primary.delete(d.infohash, d.address), slow);
        deleted += pending.length;
      }
      // Announces stored during the resync went to the mirror only; they are written too.
      const late = this.dirty - changed;
      if (late > 0) {
        const again = (await this.mirror.list(Number.MAX_SAFE_INTEGER)).filter((r) => r.storedAt >= now);
        await this.within(Promise.all(again.map((r) => this.primary.store(r))), slow);
      }
      this.dirty = 0;
      this.stateNow = 'closed';
      this.onChange({
        state: 'closed',
        detail: `peer storage backend back: wrote ${all.length} live peer(s) back (${changed} announce(s) while it was down), replayed ${deleted} delete(s)`,
        dirty: 0,
      });
    } catch {
      if (this.closed) return;
      this.stateNow = 'open';
      this.scheduleProbe();
    }
  }

  private within<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: Timer | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = this.clock.setTimeout(
          () =>
            reject(
              new KadmiumError(
                'STORAGE_SLOW',
                `the peer storage backend took over ${ms} ms; serving peers from memory`,
              ),
            ),
          ms,
        );
      }),
    ]).finally(() => timer?.cancel());
  }
}

function key(infohash: Uint8Array, address: Address): string {
  return `${toHex(infohash)}/${addressKey(address)}`;
}
