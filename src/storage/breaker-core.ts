/**
 * The circuit breaker both remote storage wrappers share (breaker.ts for items, peer-breaker.ts for
 * peers): the node never blocks or fails on a backend (Redis) that is down or slow.
 *
 * The wrapper keeps every record in a memory mirror as well (bounded by the store above it, which
 * drives both). While the backend answers (`closed`), reads go to it. The first call that fails or
 * takes longer than BREAKER_CALL_TIMEOUT_MS opens the breaker: the wrapper serves from the mirror,
 * remembers which records it wrote and deleted, and the backend is probed every BREAKER_PROBE_MS.
 * When a probe answers, the whole live mirror is written back (a restarted Redis without
 * persistence has lost everything, not just what changed), pending deletes are replayed, writes
 * that landed meanwhile get a few catch-up rounds, and the breaker closes. Each change is reported
 * through `onChange`.
 *
 * A write-back may be refused by the wrapper's `writeBack` (it resolves false): another node on the
 * same backend stored a newer version while this one was cut off, and the newer one must win.
 */
import type { Clock, Timer } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';
import { STORAGE_CONFLICT } from './item-store.js';

/** A backend call slower than this counts as a failure, ms. */
export const BREAKER_CALL_TIMEOUT_MS = 1_000;
/** While open, how often the backend is probed, ms. */
export const BREAKER_PROBE_MS = 2_000;
/** A resync batch slower than this puts the breaker back to open, ms. */
export const BREAKER_RESYNC_TIMEOUT_MS = 5_000;
/** Deletes remembered while open; beyond this the oldest is dropped (and counted). */
export const MAX_PENDING_DELETES = 10_000;
/** Records written back at once during a resync. */
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

/** What a wrapper tells the breaker about its mirror and its backend. */
export interface MirrorSync<Ref, Rec> {
  /** The backend in messages: "storage backend", "peer storage backend". */
  readonly backendName: string;
  /** A record in messages: "item", "peer". */
  readonly recordName: string;
  /** A cheap backend call that succeeds only when the backend is back. */
  ping(): Promise<unknown>;
  /** Every live record in the mirror. */
  live(): Promise<Rec[]>;
  /** The mirror's record behind a reference, if it still has one. */
  fromMirror(ref: Ref): Promise<Rec | undefined>;
  /** Write one mirror record to the backend; false when the backend kept a newer one it had. */
  writeBack(record: Rec): Promise<boolean>;
  deleteBack(ref: Ref): Promise<unknown>;
}

export type Attempt<T> = { ok: true; value: T } | { ok: false };

export class StorageBreaker<Ref, Rec> {
  private stateNow: BreakerState = 'closed';
  private readonly dirty = new Map<string, Ref>();
  private readonly deletes = new Map<string, Ref>();
  private probeTimer: Timer | undefined;
  private shut = false;
  /** Deletes dropped because MAX_PENDING_DELETES was reached while open. */
  droppedDeletes = 0;

  constructor(
    private readonly sync: MirrorSync<Ref, Rec>,
    private readonly clock: Clock,
    private readonly onChange: (change: BreakerChange) => void,
  ) {}

  get state(): BreakerState {
    return this.stateNow;
  }

  /**
   * The backend's answer within BREAKER_CALL_TIMEOUT_MS while the breaker is closed; `ok: false`
   * (serve from the mirror) while it is not, or when this call fails and opens it. A
   * STORAGE_CONFLICT error is the caller's to handle and passes through.
   */
  async attempt<T>(fn: () => Promise<T>): Promise<Attempt<T>> {
    if (this.stateNow !== 'closed') return { ok: false };
    try {
      return { ok: true, value: await this.within(fn(), BREAKER_CALL_TIMEOUT_MS) };
    } catch (err) {
      // A conditional store that lost its race too often got answers: the backend is up.
      if (err instanceof KadmiumError && err.code === STORAGE_CONFLICT) throw err;
      this.open(err);
      return { ok: false };
    }
  }

  /** A write the backend did not take: the resync writes it. */
  written(key: string, ref: Ref): void {
    this.dirty.set(key, ref);
    this.deletes.delete(key);
  }

  /** A delete the backend did not take: the resync replays it. */
  deleted(key: string, ref: Ref): void {
    this.dirty.delete(key);
    this.deletes.set(key, ref);
    if (this.deletes.size > MAX_PENDING_DELETES) {
      const oldest = this.deletes.keys().next().value;
      if (oldest !== undefined) this.deletes.delete(oldest);
      this.droppedDeletes++;
    }
  }

  close(): void {
    this.shut = true;
    this.probeTimer?.cancel();
  }

  private open(err: unknown): void {
    if (this.stateNow !== 'closed' || this.shut) return;
    this.stateNow = 'open';
    const { backendName, recordName } = this.sync;
    this.onChange({
      state: 'open',
      detail: `${backendName} failed (${err instanceof Error ? err.message : String(err)}); serving ${recordName}s from memory, writes queued`,
      dirty: this.dirty.size,
    });
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    this.probeTimer = this.clock.setTimeout(() => void this.probe(), BREAKER_PROBE_MS);
  }

  /** Ask the backend something cheap; when it answers, write the mirror back and close. */
  private async probe(): Promise<void> {
    if (this.shut || this.stateNow !== 'open') return;
    this.stateNow = 'resyncing';
    try {
      await this.within(this.sync.ping(), BREAKER_RESYNC_TIMEOUT_MS);
      const changed = this.dirty.size;
      this.dirty.clear();
      const tally = { wrote: 0, kept: 0 };
      await this.writeBack(await this.sync.live(), tally);
      let deleted = 0;
      // Writes and deletes that land during the resync are pending again: a few rounds catch them.
      for (let round = 0; this.dirty.size > 0 || this.deletes.size > 0; round++) {
        if (round >= RESYNC_ROUNDS) throw new Error('writes keep coming faster than the resync');
        const gone = [...this.deletes.values()];
        this.deletes.clear();
        for (const ref of gone) await this.within(this.sync.deleteBack(ref), BREAKER_RESYNC_TIMEOUT_MS);
        deleted += gone.length;
        const refs = [...this.dirty.values()];
        this.dirty.clear();
        const records: Rec[] = [];
        for (const ref of refs) {
          const record = await this.sync.fromMirror(ref);
          if (record !== undefined) records.push(record);
        }
        await this.writeBack(records, tally);
      }
      this.stateNow = 'closed';
      const { backendName, recordName } = this.sync;
      const newer =
        tally.kept > 0 ? `, kept ${tally.kept} newer ${recordName}(s) the backend already had` : '';
      this.onChange({
        state: 'closed',
        detail: `${backendName} back: wrote ${tally.wrote} live ${recordName}(s) back (${changed} changed while it was down)${newer}, replayed ${deleted} delete(s)`,
        dirty: 0,
      });
    } catch {
      if (this.shut) return;
      this.stateNow = 'open';
      this.scheduleProbe();
    }
  }

  /** Writes records in batches, counting those written and those the backend had newer. */
  private async writeBack(records: readonly Rec[], tally: { wrote: number; kept: number }): Promise<void> {
    for (let i = 0; i < records.length; i += RESYNC_BATCH) {
      const batch = records.slice(i, i + RESYNC_BATCH).map((r) => this.sync.writeBack(r));
      for (const wrote of await this.within(Promise.all(batch), BREAKER_RESYNC_TIMEOUT_MS)) {
        if (wrote) tally.wrote++;
        else tally.kept++;
      }
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
                `the ${this.sync.backendName} took over ${ms} ms; serving ${this.sync.recordName}s from memory`,
              ),
            ),
          ms,
        );
      }),
    ]).finally(() => timer?.cancel());
  }
}
