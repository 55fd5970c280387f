/**
 * The overlay's item policy over any `ItemBackend` (memory, SQLite, Redis): Skywire's store
 * (spec §2.2) with the holes it shipped with closed.
 *
 * - seq must increase per target; an optional compare-and-swap names the seq the writer expects;
 * - deletion is a tombstone (an empty value at a higher seq), kept like any item so an older put
 *   cannot bring the value back;
 * - trust tiers by signer: whitelisted and trusted items never expire and are never evicted;
 *   public items live `ttlMs`, count against a per-signer quota and a public pool, and the
 *   oldest public item makes room;
 * - a regular node stores only what it is responsible for (the `responsible` check, from its
 *   routing table); a full node stores everything;
 * - mirror puts (an item stored under another subject's target) are accepted only from
 *   whitelisted or trusted signers: Skywire accepted them from anyone.
 *
 * The backend keeps one record per target; the item is packed into the record's `v`. An index in
 * memory (rebuilt by `open`) answers counts, quotas, eviction and GetItems without a scan.
 */
import {
  type ItemBackend,
  STORAGE_CONFLICT,
  type StoredItem,
  storeJudged,
} from '../../storage/item-store.js';
import { KadmiumError } from '../../util/errors.js';
import { bytesEqual, bytesToBinaryString, compareBytes, toHex } from '../../util/bytes.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './constants.js';
import { DEFAULT_ITEM_LIMITS, type ItemLimits, itemTarget, type MutableItem, verifyItem } from './item.js';

export type TrustTier = 'whitelisted' | 'trusted' | 'public';

export interface OverlayStoreOptions {
  /** How long a public item lives after its last put (Skywire: 2 hours). */
  ttlMs: number;
  /** Most items held (Skywire: 10,000 on regular nodes). */
  maxItems: number;
  /** Most public-tier items held (Skywire: 5,000). */
  publicPoolSize: number;
  /** Most targets one public signer may hold (Skywire: 50); updates are exempt. */
  perSignerQuota: number;
  limits: ItemLimits;
  /** Hex public keys whose items never expire and are never evicted. */
  whitelisted: ReadonlySet<string>;
  trusted: ReadonlySet<string>;
  /** A full node stores every item; a regular one only what `responsible` accepts. */
  fullNode: boolean;
}

export const DEFAULT_OVERLAY_STORE: OverlayStoreOptions = {
  ttlMs: 2 * 60 * 60_000,
  maxItems: 10_000,
  publicPoolSize: 5_000,
  perSignerQuota: 50,
  limits: DEFAULT_ITEM_LIMITS,
  whitelisted: new Set(),
  trusted: new Set(),
  fullNode: false,
};

/** Items that never expire are stored with this expiry. */
const FOREVER = Number.MAX_SAFE_INTEGER;

export type StorePutFailure =
  | 'MALFORMED'
  | 'VALUE_TOO_BIG'
  | 'SALT_TOO_BIG'
  | 'TARGET_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'SEQ_NOT_INCREASING'
  | 'CAS_MISMATCH'
  | 'QUOTA'
  | 'FULL'
  | 'NOT_RESPONSIBLE'
  | 'MIRROR_NOT_ALLOWED'
  /** Other nodes sharing the backend kept writing the target while this put tried: put again. */
  | 'BUSY';

export type StorePutResult =
  | { ok: true; target: Uint8Array; replaced: boolean }
  | { ok: false; code: StorePutFailure; message: string; currentSeq?: bigint };

export interface StorePutOptions {
  /** The seq the writer believes is stored; the put fails unless it is (0n: nothing stored). */
  cas?: bigint | undefined;
  /** Store under this target instead of the item's own (a mirror of another subject's record). */
  mirrorTarget?: Uint8Array | undefined;
  /** For a regular node: is this target among those we should hold? Default: yes. */
  responsible?: ((target: Uint8Array) => boolean) | undefined;
}

interface Entry {
  target: Uint8Array;
  seq: bigint;
  salt: string;
  signer: string;
  tier: TrustTier;
  expiresAt: number;
}

export interface GetItemsPage {
  items: { target: Uint8Array; item: MutableItem }[];
  hasMore: boolean;
}

export class OverlayStore {
  readonly options: OverlayStoreOptions;
  private readonly index = new Map<string, Entry>();
  /** Public targets, oldest put first (a re-put moves a target to the end). */
  private readonly publicOrder = new Map<string, true>();
  private readonly perSigner = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly backend: ItemBackend,
    options: Partial<OverlayStoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_OVERLAY_STORE, ...options };
  }

  /** Load the index from the backend (records this store did not write are skipped). */
  async open(now: number): Promise<number> {
    await this.backend.expire(now);
    const records = await this.backend.list(Number.MAX_SAFE_INTEGER);
    for (const record of records) {
      const item = unpackItem(record.v);
      if (item) this.remember(record.target, item, record.expiresAt);
    }
    return this.index.size;
  }

  tierOf(publicKey: Uint8Array): TrustTier {
    const hex = toHex(publicKey);
    if (this.options.whitelisted.has(hex)) return 'whitelisted';
    if (this.options.trusted.has(hex)) return 'trusted';
    return 'public';
  }

  get size(): number {
    return this.index.size;
  }

  counts(): Record<TrustTier, number> {
    const out = { whitelisted: 0, trusted: 0, public: 0 };
    for (const e of this.index.values()) out[e.tier]++;
    return out;
  }

  /** Validate and store; never throws for a bad item. Puts to one target are serialized. */
  put(item: MutableItem, now: number, options: StorePutOptions = {}): Promise<StorePutResult> {
    const own = itemTarget(
      item.k instanceof Uint8Array ? item.k : new Uint8Array(0),
      item.salt ?? new Uint8Array(0),
    );
    const target =
      options.mirrorTarget && !bytesEqual(options.mirrorTarget, own) ? options.mirrorTarget : own;
    const key = bytesToBinaryString(target);
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.putChecked(item, target, target !== own, now, options));
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  /** The live item for a target (a tombstone included: its empty value says "deleted"). */
  async get(target: Uint8Array, now: number): Promise<MutableItem | undefined> {
    const record = await this.backend.load(target);
    if (!record || record.expiresAt <= now) return undefined;
    const item = unpackItem(record.v);
    // Another process sharing the backend may have written it: learn it for counts and GetItems.
    if (item && !this.index.has(bytesToBinaryString(target))) this.remember(target, item, record.expiresAt);
    return item;
  }

  /**
   * Items with seq > sinceSeq (and this salt, when given), by seq then target, at most `limit`
   * — extended so a run of equal seqs is never split across pages (Skywire's rule).
   */
  async getItems(
    salt: Uint8Array | undefined,
    sinceSeq: bigint,
    limit: number,
    now: number,
  ): Promise<GetItemsPage> {
    const saltKey = salt && salt.length > 0 ? bytesToBinaryString(salt) : undefined;
    const entries = [...this.index.values()]
      .filter((e) => e.seq > sinceSeq && e.expiresAt > now && (saltKey === undefined || e.salt === saltKey))
      .sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : compareBytes(a.target, b.target)));
    let end = Math.min(limit, entries.length);
    while (end > 0 && end < entries.length && entries[end]?.seq === entries[end - 1]?.seq) end++;
    const items: GetItemsPage['items'] = [];
    for (const e of entries.slice(0, end)) {
      const item = await this.get(e.target, now);
      if (item) items.push({ target: e.target, item });
    }
    return { items, hasMore: end < entries.length };
  }

  /** Drop expired items; returns how many went. */
  async expire(now: number): Promise<number> {
    const removed = await this.backend.expire(now);
    for (const [key, e] of this.index) if (e.expiresAt <= now) this.forget(key, e);
    return removed;
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private async putChecked(
    item: MutableItem,
    target: Uint8Array,
    mirror: boolean,
    now: number,
    options: StorePutOptions,
  ): Promise<StorePutResult> {
    const check = verifyItem(item, this.options.limits);
    if (!check.ok) return check;
    const tier = this.tierOf(item.k);
    if (mirror && tier === 'public') {
      return fail(
        'MIRROR_NOT_ALLOWED',
        'dht: mirror puts are accepted only from whitelisted or trusted signers; publish under your own key',
      );
    }
    const key = bytesToBinaryString(target);
    try {
      // At most twice: quota and room are checked once, then the put decides again.
      for (let roomMade = false; ; roomMade = true) {
        const step = await this.decideAndStore(item, target, now, options, tier, roomMade);
        if (step.kind === 'done') {
          if (step.result.ok) {
            const known = this.index.get(key);
            if (known) this.forget(key, known);
            this.remember(target, item, step.expiresAt);
          }
          return step.result;
        }
        const refused = await this.makeRoomFor(item, now);
        if (refused) return refused;
      }
    } catch (err) {
      if (!(err instanceof KadmiumError && err.code === STORAGE_CONFLICT)) throw err;
      return fail('BUSY', `dht: ${err.message}`);
    }
  }

  /**
   * The seq/CAS checks and the store as one `storeIf`: a full node sharing the backend (one Redis
   * dataset) cannot store a newer version between our check and our write. A public item this
   * node does not know yet first passes the quota and makes room (outside the atomic step:
   * eviction touches other targets), then decides again.
   */
  private async decideAndStore(
    item: MutableItem,
    target: Uint8Array,
    now: number,
    options: StorePutOptions,
    tier: TrustTier,
    roomMade: boolean,
  ): Promise<{ kind: 'done'; result: StorePutResult; expiresAt: number } | { kind: 'room' }> {
    const needsRoom = tier === 'public' && !roomMade && !this.index.has(bytesToBinaryString(target));
    const expiresAt = tier === 'public' ? now + this.options.ttlMs : FOREVER;
    const record: StoredItem = { target, v: packItem(item), storedAt: now, expiresAt };
    const { verdict } = await storeJudged(this.backend, target, (held) => {
      const current = held && held.expiresAt > now ? unpackItem(held.v) : undefined;
      const v: StorePutResult | 'room' =
        this.refusal(item, target, current, options) ??
        (needsRoom ? 'room' : { ok: true, target, replaced: current !== undefined });
      return { verdict: v, store: v === 'room' || !v.ok ? undefined : record };
    });
    return verdict === 'room' ? { kind: 'room' } : { kind: 'done', result: verdict, expiresAt };
  }

  /** Why a put may not replace `current` (the live item held now), if it may not. Pure. */
  private refusal(
    item: MutableItem,
    target: Uint8Array,
    current: MutableItem | undefined,
    options: StorePutOptions,
  ): StorePutResult | undefined {
    if (!this.options.fullNode && !current && options.responsible && !options.responsible(target)) {
      return fail(
        'NOT_RESPONSIBLE',
        'dht: this node is not among the closest to the target; put it to the closest nodes a lookup finds',
      );
    }
    if (options.cas !== undefined && options.cas !== (current?.seq ?? 0n)) {
      return {
        ...fail(
          'CAS_MISMATCH',
          `dht: compare-and-swap failed: stored seq is ${current?.seq ?? 0n}, not ${options.cas}; read the item and retry`,
        ),
        ...(current ? { currentSeq: current.seq } : {}),
      };
    }
    if (current && item.seq <= current.seq) {
      return {
        ...fail(
          'SEQ_NOT_INCREASING',
          `dht: sequence number must increase: stored seq is ${current.seq}, got ${item.seq}; publish with a higher seq`,
        ),
        currentSeq: current.seq,
      };
    }
    return undefined;
  }

  /** A new public item: the signer's quota, then room in the pool; the refusal when neither. */
  private async makeRoomFor(item: MutableItem, now: number): Promise<StorePutResult | undefined> {
    const signer = bytesToBinaryString(item.k);
    if ((this.perSigner.get(signer) ?? 0) >= this.options.perSignerQuota) {
      return fail(
        'QUOTA',
        `dht: rate limit exceeded for public key: ${this.options.perSignerQuota} items per signer`,
      );
    }
    if (!(await this.makeRoom(now))) {
      return fail('FULL', `dht: store full of items that may not be evicted; put it on another node`);
    }
    return undefined;
  }

  /** Make room for one more public item: evict the oldest public ones over the pool or the cap. */
  private async makeRoom(now: number): Promise<boolean> {
    const over = (): boolean =>
      this.publicOrder.size >= this.options.publicPoolSize || this.index.size >= this.options.maxItems;
    if (!over()) return true;
    await this.expire(now);
    while (over()) {
      const oldest = this.publicOrder.keys().next();
      if (oldest.done) return false;
      const entry = this.index.get(oldest.value) as Entry;
      await this.backend.delete(entry.target);
      this.forget(oldest.value, entry);
    }
    return true;
  }

  private remember(target: Uint8Array, item: MutableItem, expiresAt: number): void {
    const key = bytesToBinaryString(target);
    const old = this.index.get(key);
    if (old) this.forget(key, old);
    const tier = this.tierOf(item.k);
    const signer = bytesToBinaryString(item.k);
    this.index.set(key, {
      target: target.slice(),
      seq: item.seq,
      salt: bytesToBinaryString(item.salt),
      signer,
      tier,
      expiresAt,
    });
    if (tier === 'public') {
      this.publicOrder.set(key, true);
      this.perSigner.set(signer, (this.perSigner.get(signer) ?? 0) + 1);
    }
  }

  private forget(key: string, entry: Entry): void {
    this.index.delete(key);
    if (entry.tier !== 'public') return;
    this.publicOrder.delete(key);
    const n = (this.perSigner.get(entry.signer) ?? 1) - 1;
    if (n <= 0) this.perSigner.delete(entry.signer);
    else this.perSigner.set(entry.signer, n);
  }
}

function fail(code: StorePutFailure, message: string): { ok: false; code: StorePutFailure; message: string } {
  return { ok: false, code, message };
}

/**
 * Which of two records of one target a storage resync keeps (breaker.ts), for full nodes sharing
 * a Redis: the higher seq inside the packed item, or at the same seq the later expiry. A record
 * that does not unpack never wins.
 */
export function overlayRecordSupersedes(mine: StoredItem, theirs: StoredItem): boolean {
  const a = unpackItem(mine.v);
  const b = unpackItem(theirs.v);
  if (!a) return false;
  if (!b) return true;
  return a.seq !== b.seq ? a.seq > b.seq : mine.expiresAt > theirs.expiresAt;
}

/** An item as one record value: seq (8 BE) | k (33) | sig (65) | salt length (1) | salt | v. */
export function packItem(item: MutableItem): Uint8Array {
  const out = new Uint8Array(8 + PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 1 + item.salt.length + item.v.length);
  new DataView(out.buffer).setBigUint64(0, item.seq);
  out.set(item.k, 8);
  out.set(item.sig, 8 + PUBLIC_KEY_BYTES);
  let at = 8 + PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
  out[at++] = item.salt.length;
  out.set(item.salt, at);
  out.set(item.v, at + item.salt.length);
  return out;
}

/** Undefined when the bytes are not a record `packItem` wrote. */
export function unpackItem(bytes: Uint8Array): MutableItem | undefined {
  const head = 8 + PUBLIC_KEY_BYTES + SIGNATURE_BYTES + 1;
  if (bytes.length < head) return undefined;
  const saltLength = bytes[head - 1] as number;
  if (bytes.length < head + saltLength) return undefined;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0);
  return {
    seq,
    k: bytes.slice(8, 8 + PUBLIC_KEY_BYTES),
    sig: bytes.slice(8 + PUBLIC_KEY_BYTES, head - 1),
    salt: bytes.slice(head, head + saltLength),
    v: bytes.slice(head + saltLength),
  };
}
