/**
 * BEP 44 items (immutable and mutable), with BEP 44's validation, a TTL and a capacity.
 *
 * Policy (signature, salt size, seq/CAS, value size, TTL, capacity and eviction) lives in
 * `ItemStore`; an `ItemBackend` only stores, loads, lists and expires records. Values are kept as
 * their raw bencoded bytes so signatures keep verifying over the bytes that were signed.
 */
import {
  type Bep44ErrorCode,
  checkSequence,
  ITEM_TTL_MS,
  immutableTargetOfEncoded,
  MAX_VALUE_BYTES,
  mutableTarget,
  reject,
  validateMutable,
} from '../protocols/mainline/bep44.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { ownMap, sharedEmptyMap } from '../util/shared-empty-map.js';
import { KadmiumError } from '../util/errors.js';
import { decode } from '../wire/bencode.js';
import { KrpcErrorCode } from '../wire/krpc.js';
import { Capacity } from './capacity.js';
import { ExpiryHeap } from './expiry-heap.js';

export interface StoredItem {
  /** SHA-1 of v (immutable) or of k ‖ salt (mutable). */
  readonly target: Uint8Array;
  /** Raw bencoded bytes of the value, as they were put. */
  readonly v: Uint8Array;
  /** Mutable items only: public key, signature, salt (when non-empty) and sequence number. */
  readonly k?: Uint8Array;
  readonly sig?: Uint8Array;
  readonly salt?: Uint8Array;
  readonly seq?: number;
  /** Clock time of the put that stored it. */
  readonly storedAt: number;
  /** Clock time after which it is gone unless put again. */
  readonly expiresAt: number;
}

/** What `ItemBackend.storeIf` stores, given the record held now: undefined keeps that one. */
export type StoreDecider = (held: StoredItem | undefined) => StoredItem | undefined;

/** `storeIf`'s outcome: a new record, one that replaced the held one, or the held one kept. */
export type StoreIfOutcome = 'added' | 'replaced' | 'kept';

/** The error code of a conditional store that lost to other writers too many times in a row. */
export const STORAGE_CONFLICT = 'STORAGE_CONFLICT';

/**
 * `backend.storeIf` with a verdict beside the record: `judge` returns what the policy concluded
 * about the record held now and the record to store (undefined: keep the held one). The verdict
 * returned is the one reached on the record held at the store: a shared backend may judge more
 * than once, and the last call is the one that counted.
 */
export async function storeJudged<V>(
  backend: ItemBackend,
  target: Uint8Array,
  judge: (held: StoredItem | undefined) => { verdict: V; store: StoredItem | undefined },
): Promise<{ outcome: StoreIfOutcome; verdict: V }> {
  const last: { judged?: { verdict: V } } = {};
  const outcome = await backend.storeIf(target, (held) => {
    const judged = judge(held);
    last.judged = { verdict: judged.verdict };
    return judged.store;
  });
  if (!last.judged) throw new KadmiumError('STORAGE_ERROR', 'the item backend stored without deciding');
  return { outcome, verdict: last.judged.verdict };
}

/**
 * Where item records live. No policy: a backend keeps what it is given and answers queries about
 * it; validation, TTL, capacity and eviction belong to the policy above it (`ItemStore`, or any
 * other item policy over the same records). "Stalest" means smallest expiresAt. Every backend keeps
 * an expiry index (a heap in memory, an SQLite index, a Redis sorted set), so finding the stalest
 * record and deleting expired ones cost O(log n) per record touched, never a pass over all.
 */
export interface ItemBackend {
  /**
   * Insert, or replace the record with the same target. Resolves true when the record is new and
   * false when it replaced one, so a policy keeps its count without asking.
   */
  store(item: StoredItem): Promise<boolean>;
  /**
   * A conditional store, atomic against every writer of the dataset (other processes sharing a
   * Redis or SQLite file included): `decide` is given the record held for `target` now
   * (undefined when none) and returns the record to store in its place, or undefined to keep it.
   * Nothing can be written to the target between what `decide` saw and the store. `decide` must
   * be synchronous and may run more than once (a shared backend retries it when another writer
   * changed the record in between), so it may only compute, never act. Fails with code
   * STORAGE_CONFLICT when other writers keep winning (Redis: STORE_IF_ATTEMPTS times in a row).
   */
  storeIf(target: Uint8Array, decide: StoreDecider): Promise<StoreIfOutcome>;
  load(target: Uint8Array): Promise<StoredItem | undefined>;
  /** Up to `limit` records, stalest first. */
  list(limit: number): Promise<StoredItem[]>;
  /**
   * Delete records with expiresAt <= until, stalest first, found through the expiry index: at most
   * `max` of them when given, else all. Returns how many went. A policy passes its clock time to
   * sweep what has expired, or a later time to evict the stalest live records.
   */
  expire(until: number, max?: number): Promise<number>;
  delete(target: Uint8Array): Promise<boolean>;
  /** Records held. May cost a pass over every record (SQLite): not for every put. */
  count(): Promise<number>;
  close(): Promise<void>;
}

export interface ItemStoreLimits {
  /** How long an item lives after its last put, ms (BEP 44: 2 hours). */
  ttlMs: number;
  /** Most items kept. */
  maxItems: number;
  /** Largest bencoded value accepted (BEP 44: 1000 bytes). */
  maxValueBytes: number;
}

export const DEFAULT_ITEM_LIMITS: ItemStoreLimits = {
  ttlMs: ITEM_TTL_MS,
  maxItems: 50_000,
  maxValueBytes: MAX_VALUE_BYTES,
};

/** What a `put` carries: immutable when k, sig and seq are all absent, mutable when all present. */
export interface ItemPut {
  /** Raw bencoded value. */
  v: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  salt?: Uint8Array;
  seq?: number;
  /** Mutable only: the seq the putter believes is stored (compare-and-swap). */
  cas?: number;
  /** When given, must equal the target the item hashes to. */
  target?: Uint8Array;
}

export type ItemPutResult =
  | { ok: true; item: StoredItem }
  | {
      ok: false;
      /** KRPC error code to answer the put with: 203, 205, 206, 207, 301, 302, or 202 when full. */
      code: Bep44ErrorCode | typeof KrpcErrorCode.Server;
      /** What went wrong and what to do about it. */
      message: string;
    };

/**
 * The one BEP 44 item policy, over any backend. Each put's seq/CAS check and its write are one
 * `storeIf`, so no writer of a shared backend (another node on the same Redis dataset) can slip
 * between them; puts to one target are also serialized in this process, so they do not make
 * each other retry. At capacity (`Capacity`, capacity.ts) expired items are swept if the stalest
 * has expired, else the stalest item makes room unless it would outlive the incoming one, so a
 * put at the cap costs what one below it does.
 */
export class ItemStore {
  /** Made on the first put (util/shared-empty-map.ts). */
  private locks = sharedEmptyMap<string, Promise<unknown>>();
  private readonly capacity: Capacity<StoredItem>;

  constructor(
    private readonly backend: ItemBackend,
    readonly limits: ItemStoreLimits = DEFAULT_ITEM_LIMITS,
  ) {
    this.capacity = new Capacity<StoredItem>(
      {
        count: () => backend.count(),
        stalest: async () => (await backend.list(1))[0],
        expire: (until, max) => backend.expire(until, max),
      },
      limits.maxItems,
    );
  }

  /**
   * Validate and store an item at clock time `now`. Never throws for a bad item: returns why.
   * `ttlMs` shortens the life of a cache copy (path-cache.ts); it never shortens a live item's.
   */
  async put(put: ItemPut, now: number, ttlMs?: number): Promise<ItemPutResult> {
    if (!decode(put.v).ok)
      return reject(KrpcErrorCode.Protocol, 'v is not valid bencoding; send the value bencoded');
    const mutable = put.k !== undefined || put.sig !== undefined || put.seq !== undefined;
    let target: Uint8Array;
    if (mutable) {
      if (put.k === undefined || put.sig === undefined || put.seq === undefined) {
        return reject(KrpcErrorCode.Protocol, 'a mutable put needs k, seq and sig together; send all three');
      }
      const salt = put.salt && put.salt.length > 0 ? put.salt : undefined;
      const check = validateMutable(
        { k: put.k, sig: put.sig, seq: put.seq, v: put.v, ...(salt ? { salt } : {}) },
        this.limits.maxValueBytes,
      );
      if (!check.ok) return check;
      target = mutableTarget(put.k, salt);
    } else {
      if (put.v.length > this.limits.maxValueBytes) {
        return reject(
          KrpcErrorCode.ValueTooBig,
          `value too big: bencoded v is ${put.v.length} bytes, the limit is ${this.limits.maxValueBytes}; store a smaller value`,
        );
      }
      target = immutableTargetOfEncoded(put.v);
    }
    if (put.target && !bytesEqual(put.target, target)) {
      return reject(
        KrpcErrorCode.Protocol,
        `target ${toHex(put.target)} does not match the item, which hashes to ${toHex(target)}; ` +
          (mutable
            ? 'the target of a mutable item is SHA-1(k ‖ salt)'
            : 'the target of an immutable item is SHA-1(v)'),
      );
    }
    return this.serialize(toHex(target), () => this.putChecked(put, target, mutable, now, ttlMs));
  }

  /** The live item for a target, if held. */
  async get(target: Uint8Array, now: number): Promise<StoredItem | undefined> {
    const item = await this.backend.load(target);
    return item && item.expiresAt > now ? item : undefined;
  }

  /** Drop expired items; returns how many went. */
  expire(now: number): Promise<number> {
    return this.capacity.sweep(now);
  }

  /** Items held (expired ones count until expired). */
  count(): Promise<number> {
    return this.backend.count();
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /**
   * The seq/CAS check and the store as one `storeIf`, so a sibling node sharing the backend (one
   * Redis dataset) cannot store a newer version between our check and our write: the check runs
   * on the record held at the moment of the write. Puts to one target are serialized in this
   * process, not across processes. A put that would add a record first makes room at the cap,
   * outside the atomic step (eviction touches other targets), then decides again.
   */
  private async putChecked(
    put: ItemPut,
    target: Uint8Array,
    mutable: boolean,
    now: number,
    ttlMs = this.limits.ttlMs,
  ): Promise<ItemPutResult> {
    try {
      // At most twice: a decider told the room is made never asks for it again.
      for (let admitted = false; ; admitted = true) {
        const step = await this.decideAndStore(put, target, mutable, now, ttlMs, admitted);
        if (step.kind === 'done') return step.result;
        if (!(await this.capacity.admit(step.item, now))) {
          return {
            ok: false,
            code: KrpcErrorCode.Server,
            message: `item store full (${this.limits.maxItems} items) of items fresher than this one; put it on another node`,
          };
        }
      }
    } catch (err) {
      // Other nodes sharing the backend kept winning the race for this target: a busy server.
      if (!(err instanceof KadmiumError && err.code === STORAGE_CONFLICT)) throw err;
      return { ok: false, code: KrpcErrorCode.Server, message: err.message };
    }
  }

  /** One `storeIf`; `admitted` says the capacity already made room for a new record. */
  private async decideAndStore(
    put: ItemPut,
    target: Uint8Array,
    mutable: boolean,
    now: number,
    ttlMs: number,
    admitted: boolean,
  ): Promise<{ kind: 'done'; result: ItemPutResult } | { kind: 'room'; item: StoredItem }> {
    const { outcome, verdict: decision } = await storeJudged(this.backend, target, (held) => {
      const verdict = decidePut(put, target, mutable, now, ttlMs, held, admitted);
      return { verdict, store: verdict.kind === 'store' ? verdict.item : undefined };
    });
    if (decision.kind === 'refuse') return { kind: 'done', result: decision.result };
    if (decision.kind === 'room') return { kind: 'room', item: decision.item };
    if (outcome === 'added') this.capacity.added();
    return { kind: 'done', result: { ok: true, item: decision.item } };
  }

  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks = ownMap(this.locks);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}

type PutDecision =
  | { kind: 'refuse'; result: ItemPutResult }
  /** A new record, and the capacity has not made room for it yet. */
  | { kind: 'room'; item: StoredItem }
  | { kind: 'store'; item: StoredItem };

/** BEP 44's seq/CAS rule against the record `held` now; pure, for `ItemBackend.storeIf`. */
function decidePut(
  put: ItemPut,
  target: Uint8Array,
  mutable: boolean,
  now: number,
  ttlMs: number,
  held: StoredItem | undefined,
  admitted: boolean,
): PutDecision {
  const current = held && held.expiresAt > now ? held : undefined;
  if (mutable && current && current.seq !== undefined) {
    const check = checkSequence({ seq: current.seq, v: current.v }, put.seq as number, put.v, put.cas);
    if (!check.ok) return { kind: 'refuse', result: check };
  }
  const item: StoredItem = {
    target,
    v: copy(put.v),
    ...(mutable
      ? {
          k: copy(put.k as Uint8Array),
          sig: copy(put.sig as Uint8Array),
          ...(put.salt && put.salt.length > 0 ? { salt: copy(put.salt) } : {}),
          seq: put.seq as number,
        }
      : {}),
    storedAt: now,
    // A re-put with an older clock time never shortens the item's life.
    expiresAt: Math.max(now + ttlMs, current?.expiresAt ?? 0),
  };
  return { kind: !held && !admitted ? 'room' : 'store', item };
}

/** A plain Uint8Array copy (callers may hand in Buffers or views into datagrams). */
function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Items in process memory, indexed by expiry (expiry-heap.ts). */
export class MemoryItemBackend implements ItemBackend {
  /** Made on the first store (util/shared-empty-map.ts): most nodes hold no items. */
  private items = sharedEmptyMap<string, StoredItem>();
  /** The expiry index over `items`, made on the first store. */
  private byExpiry: ExpiryHeap<StoredItem> | undefined;

  async store(item: StoredItem): Promise<boolean> {
    const key = toHex(item.target);
    this.items = ownMap(this.items);
    const replaced = this.items.delete(key);
    this.items.set(key, item);
    this.byExpiry ??= new ExpiryHeap();
    this.byExpiry.add(this.items, key, item);
    return !replaced;
  }

  async storeIf(target: Uint8Array, decide: StoreDecider): Promise<StoreIfOutcome> {
    // Atomic in-process: decide and store run with no await between the read and the write.
    const next = decide(this.items.get(toHex(target)));
    if (!next) return 'kept';
    return (await this.store(next)) ? 'added' : 'replaced';
  }

  async load(target: Uint8Array): Promise<StoredItem | undefined> {
    return this.items.get(toHex(target));
  }

  async list(limit: number): Promise<StoredItem[]> {
    return this.byExpiry?.list(this.items, limit) ?? [];
  }

  async expire(now: number, max = Number.POSITIVE_INFINITY): Promise<number> {
    let removed = 0;
    // Stalest first through the index: a sweep costs what it deletes.
    for (let top = this.byExpiry?.peek(this.items); top && top.record.expiresAt <= now && removed < max;) {
      this.items.delete(top.key);
      this.byExpiry?.pop();
      removed++;
      top = this.byExpiry?.peek(this.items);
    }
    return removed;
  }

  async delete(target: Uint8Array): Promise<boolean> {
    return this.items.delete(toHex(target));
  }

  async count(): Promise<number> {
    return this.items.size;
  }

  async close(): Promise<void> {}
}
