/**
 * BEP 44 from the caller's side: store and fetch immutable and signed mutable items on the K
 * closest nodes, verifying every value received, and keep what we published alive by
 * re-putting it (items expire on storing nodes 2 hours after their last put).
 */
import type { Reputation } from '../kademlia/reputation.js';
import type { Contact } from '../kademlia/routing-table.js';
import type { LookupResult } from '../kademlia/lookup.js';
import {
  type Ed25519Keypair,
  MAX_SALT_BYTES,
  checkSignature,
  checkValueSize,
  immutableTargetOfEncoded,
  mutableTarget,
  signMutable,
} from '../protocols/mainline/bep44.js';
import type { ItemReply, MainlineClient, PutArgs } from '../protocols/mainline/client.js';
import { type Address, addressKey } from '../transport/address.js';
import { deadline } from '../util/abort.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { type Clock, type Timer, every } from '../util/clock.js';
import { InvalidArgumentError, KadmiumError, KrpcRemoteError } from '../util/errors.js';
import { ownMap, sharedEmptyMap } from '../util/shared-empty-map.js';
import { type BValue, decode, encode } from '../wire/bencode.js';
import { KrpcErrorCode } from '../wire/krpc.js';
import type { LookupKind } from './events.js';
import type { FeatureBreakers } from './feature-breakers.js';
import { Misses, putCopy } from './path-cache.js';

/** Re-put what we published this often (BEP 44: items may expire 2 h after their last put). */
export const REPUBLISH_INTERVAL_MS = 60 * 60_000;
/** Most items one node keeps alive. */
export const MAX_REPUBLISHED = 1_000;

export interface ItemCallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface MutablePutOptions extends ItemCallOptions {
  keyPair: Ed25519Keypair;
  v: BValue;
  /** Salt (BEP 44: at most 64 bytes); a string is taken as UTF-8. */
  salt?: Uint8Array | string | undefined;
  /** Sequence number; default: one above the highest seq the network holds (0 when none). */
  seq?: number | undefined;
  /** Compare-and-swap: only store if the current seq is exactly this. */
  cas?: number | undefined;
  /** Keep re-putting it every hour while the node runs (default true). */
  republish?: boolean;
}

export interface ItemGetOptions extends ItemCallOptions {
  /** The salt the mutable item was published with (it is part of the target). */
  salt?: Uint8Array | string | undefined;
  /** Only values with a seq above this (nodes may then leave v out). */
  minSeq?: number | undefined;
}

export interface PutResult {
  target: Uint8Array;
  /** Mutable items: the seq stored. */
  seq?: number;
  /** Nodes that accepted the put. */
  storedOn: number;
  /** Closest nodes that gave a token. */
  candidates: number;
}

export interface GetResult {
  target: Uint8Array;
  v: BValue;
  /** The value's bencoded bytes (what the target or signature covers). */
  encoded: Uint8Array;
  seq?: number;
  k?: Uint8Array;
  sig?: Uint8Array;
  /** Nodes that returned a verified value. */
  verifiedBy: number;
  /** The node whose answer gave us the item first (a path-cache copy or one of the K closest). */
  firstFrom?: Address;
}

/** The node services items need; Dht provides them. */
export interface ItemHost {
  readonly clock: Clock;
  readonly shutdown: AbortSignal;
  requireClient(): MainlineClient;
  seedsFor(target: Uint8Array): Contact[];
  runLookup<R extends { nodes: Contact[]; id: Uint8Array }>(
    kind: LookupKind,
    target: Uint8Array,
    seeds: Contact[],
    signal: AbortSignal,
    ask: (contact: Contact, onSlow: () => void) => Promise<R>,
    onReply?: (reply: R) => boolean | void,
    hasValue?: (reply: R) => boolean,
  ): Promise<LookupResult<R>>;
  warn(code: string, message: string): void;
  /** Per-contact reputation, when the node keeps one: a value that fails verification is a lie. */
  readonly reputation?: Reputation | undefined;
  /** Cache found items along the lookup path (node/path-cache.ts); default off. */
  readonly pathCache?: boolean;
  /** Switches the path cache off for a while when it throws, instead of failing the get. */
  readonly features?: FeatureBreakers;
}

/** The path cache's name in the feature breakers, events and status. */
export const PATH_CACHE_FEATURE = 'path-cache';

export class SeqConflictError extends KadmiumError {
  constructor(message: string) {
    super('SEQ_CONFLICT', message);
  }
}

export class CasMismatchError extends KadmiumError {
  constructor(message: string) {
    super('CAS_MISMATCH', message);
  }
}

const LOOKUP_TIMEOUT_MS = 60_000;
const textEncoder = new TextEncoder();

/** Refuse locally what every node would refuse (205), before any network traffic. */
function checkSize(v: BValue): void {
  const check = checkValueSize(encode(v));
  if (!check.ok) throw new KadmiumError('VALUE_TOO_BIG', check.message);
}

function saltBytes(salt: Uint8Array | string | undefined): Uint8Array | undefined {
  if (salt === undefined) return undefined;
  const bytes = typeof salt === 'string' ? textEncoder.encode(salt) : salt;
  if (bytes.length > MAX_SALT_BYTES)
    throw new InvalidArgumentError(`salt is ${bytes.length} bytes; BEP 44 allows at most ${MAX_SALT_BYTES}`);
  return bytes.length > 0 ? bytes : undefined;
}

export class ItemOperations {
  /** Made on the first publish (util/shared-empty-map.ts): most nodes never publish. */
  private published = sharedEmptyMap<string, () => Promise<unknown>>();
  private republishTimer: Timer | undefined;

  constructor(private readonly host: ItemHost) {}

  /** Store an immutable item; its target is SHA-1 of the bencoded value. */
  async putImmutable(v: BValue, opts: ItemCallOptions & { republish?: boolean } = {}): Promise<PutResult> {
    checkSize(v);
    const target = immutableTargetOfEncoded(encode(v));
    const result = await this.store(target, undefined, () => ({ v }), opts);
    if (opts.republish ?? true) this.remember(target, () => this.store(target, undefined, () => ({ v }), {}));
    return result;
  }

  /** Sign and store a mutable item under keyPair (and salt). */
  async putMutable(opts: MutablePutOptions): Promise<PutResult> {
    const salt = saltBytes(opts.salt);
    checkSize(opts.v);
    const target = mutableTarget(opts.keyPair.publicKey, salt);
    if (opts.seq !== undefined && (!Number.isSafeInteger(opts.seq) || opts.seq < 0))
      throw new InvalidArgumentError(`seq must be a non-negative integer, got ${opts.seq}`);
    let signed: ReturnType<typeof signMutable> | undefined;
    const build = (latestSeq: number | undefined): Omit<PutArgs, 'token'> => {
      const seq = opts.seq ?? (latestSeq === undefined ? 0 : latestSeq + 1);
      signed = signMutable(opts.keyPair, seq, opts.v, salt);
      return { v: opts.v, k: signed.k, sig: signed.sig, salt, seq, cas: opts.cas };
    };
    const result = await this.store(target, { salt }, build, opts);
    const done = signed;
    if (done && (opts.republish ?? true)) {
      // Re-put the same signed value; the seq only moves when the owner publishes again.
      const again = { v: opts.v, k: done.k, sig: done.sig, salt, seq: done.seq };
      this.remember(target, () => this.store(target, { salt }, () => again, {}));
    }
    return result;
  }

  /** The verified value with the highest seq among the K closest nodes, or undefined. */
  async get(target: Uint8Array, opts: ItemGetOptions = {}): Promise<GetResult | undefined> {
    const salt = saltBytes(opts.salt);
    const client = this.host.requireClient();
    const d = deadline(
      this.host.clock,
      opts.timeoutMs ?? LOOKUP_TIMEOUT_MS,
      'get',
      opts.signal,
      this.host.shutdown,
    );
    let best: GetResult | undefined;
    // Replies whose value verified, for the reputation's withheld-value check.
    const holders = new Set<unknown>();
    // With minSeq, holders of that seq answer without v: they are not misses.
    const features = this.host.features;
    const cacheOn =
      this.host.pathCache && opts.minSeq === undefined && (features?.allowed(PATH_CACHE_FEATURE) ?? true);
    const misses = cacheOn ? new Misses(target) : undefined;
    // An optional feature: a throw switches it off (node/feature-breakers.ts), the get goes on.
    const cache = (fn: () => void): void =>
      features ? features.run(PATH_CACHE_FEATURE, fn, undefined) : fn();
    try {
      const result = await this.host.runLookup(
        'get',
        target,
        this.host.seedsFor(target),
        d.signal,
        (contact, onSlow) => client.get(contact.address, target, opts.minSeq, { signal: d.signal, onSlow }),
        (reply) => {
          const verified = verifyReply(target, reply, salt);
          if (!verified) {
            if (reply.v !== undefined) this.host.reputation?.lied(addressKey(reply.from));
            if (misses) cache(() => misses.add(reply));
            return false;
          }
          holders.add(reply);
          if (opts.minSeq !== undefined && (verified.seq ?? -1) <= opts.minSeq) return false;
          if (!best || (verified.seq ?? 0) > (best.seq ?? 0))
            best = { ...verified, verifiedBy: 1, firstFrom: best?.firstFrom ?? reply.from };
          else if (verified.seq === best.seq) best.verifiedBy++;
          return true;
        },
        (reply) => holders.has(reply),
      );
      const found = best;
      if (found && misses)
        cache(() => {
          const on = misses.pick(result.closest.map((c) => c.contact));
          if (on) void putCopy(client, on, found, salt, this.host.shutdown);
        });
      return best;
    } finally {
      d.dispose();
    }
  }

  /** Items being kept alive. */
  get republishing(): number {
    return this.published.size;
  }

  close(): void {
    this.republishTimer?.cancel();
    this.published.clear();
  }

  /**
   * Look up the K closest nodes (collecting tokens and, for mutable items, the newest seq they
   * hold), then put to each. Succeeds when at least one node stored it.
   */
  private async store(
    target: Uint8Array,
    mutable: { salt: Uint8Array | undefined } | undefined,
    build: (latestSeq: number | undefined) => Omit<PutArgs, 'token'>,
    opts: ItemCallOptions,
  ): Promise<PutResult> {
    const client = this.host.requireClient();
    const d = deadline(
      this.host.clock,
      opts.timeoutMs ?? LOOKUP_TIMEOUT_MS,
      'put',
      opts.signal,
      this.host.shutdown,
    );
    try {
      let latestSeq: number | undefined;
      const found = await this.host.runLookup(
        'put',
        target,
        this.host.seedsFor(target),
        d.signal,
        (contact, onSlow) => client.get(contact.address, target, undefined, { signal: d.signal, onSlow }),
        (reply) => {
          if (!mutable) return;
          const verified = verifyReply(target, reply, mutable.salt);
          if (verified?.seq !== undefined && (latestSeq === undefined || verified.seq > latestSeq))
            latestSeq = verified.seq;
        },
      );
      const args = build(latestSeq);
      const withToken = found.closest.filter((c) => c.result.token !== undefined);
      let storedOn = 0;
      const refusals: KrpcRemoteError[] = [];
      await Promise.all(
        withToken.map(async ({ contact, result }) => {
          try {
            await client.put(
              contact.address,
              { ...args, token: result.token as Uint8Array },
              { signal: d.signal },
            );
            storedOn++;
          } catch (err) {
            if (err instanceof KrpcRemoteError) refusals.push(err);
          }
        }),
      );
      // A 301/302 from any node proves the network holds a newer value: the put lost a race or
      // used a stale seq, even if nodes that never held the item accepted it.
      const conflict = refusals.some(
        (r) => r.krpcCode === KrpcErrorCode.CasMismatch || r.krpcCode === KrpcErrorCode.SeqTooLow,
      );
      if (storedOn === 0 || (mutable && conflict))
        throw refusalError(withToken.length, refusals, args.seq, storedOn);
      return {
        target,
        ...(args.seq !== undefined ? { seq: args.seq } : {}),
        storedOn,
        candidates: withToken.length,
      };
    } finally {
      d.dispose();
    }
  }

  private remember(target: Uint8Array, reput: () => Promise<unknown>): void {
    const key = toHex(target);
    this.published.delete(key);
    if (this.published.size >= MAX_REPUBLISHED) {
      const oldest = this.published.keys().next().value as string;
      this.published.delete(oldest);
      this.host.warn(
        'REPUBLISH_FULL',
        `keeping ${MAX_REPUBLISHED} items alive; stopped re-putting ${oldest}`,
      );
    }
    this.published = ownMap(this.published);
    this.published.set(key, reput);
    this.republishTimer ??= every(this.host.clock, REPUBLISH_INTERVAL_MS, () => this.republish());
  }

  private republish(): void {
    for (const [key, reput] of this.published) {
      reput().catch((err: unknown) =>
        this.host.warn('REPUBLISH_FAILED', `re-putting ${key} failed: ${(err as Error).message}`),
      );
    }
  }
}

/** A reply's item, if it verifies against the target (hash, or key, salt and signature). */
function verifyReply(
  target: Uint8Array,
  reply: ItemReply,
  salt: Uint8Array | undefined,
): Omit<GetResult, 'verifiedBy'> | undefined {
  if (reply.v === undefined) return undefined;
  // `encoded` is our own copy; the value handed out is decoded from it, not the reply's views into
  // a datagram (which may share a slab with other datagrams).
  const encoded = encode(reply.v);
  const decoded = decode(encoded);
  if (!decoded.ok) return undefined;
  if (reply.k === undefined) {
    return bytesEqual(immutableTargetOfEncoded(encoded), target)
      ? { target, v: decoded.value, encoded }
      : undefined;
  }
  if (reply.sig === undefined || reply.seq === undefined) return undefined;
  if (!bytesEqual(mutableTarget(reply.k, salt), target)) return undefined;
  const check = checkSignature({
    k: reply.k,
    sig: reply.sig,
    seq: reply.seq,
    v: encoded,
    ...(salt ? { salt } : {}),
  });
  if (!check.ok) return undefined;
  return { target, v: decoded.value, encoded, seq: reply.seq, k: reply.k, sig: reply.sig };
}

function refusalError(
  candidates: number,
  refusals: KrpcRemoteError[],
  seq: number | undefined,
  storedOn: number,
): KadmiumError {
  const codes = new Set(refusals.map((r) => r.krpcCode));
  const partly = storedOn > 0 ? ` (${storedOn} node(s) without the newer value accepted it)` : '';
  if (codes.has(KrpcErrorCode.CasMismatch)) {
    return new CasMismatchError(
      `CAS mismatch: the stored item changed since you read it${partly}; get it again and retry with its seq as cas`,
    );
  }
  if (codes.has(KrpcErrorCode.SeqTooLow)) {
    return new SeqConflictError(
      `seq ${seq} is not above the seq stored on the network${partly}; omit seq to publish one above the latest, or pass a higher seq`,
    );
  }
  if (candidates === 0) {
    return new KadmiumError(
      'NO_NODES',
      'no node near the target gave a write token; bootstrap first and retry',
    );
  }
  const reasons = [...new Set(refusals.map((r) => `${r.krpcCode} ${r.remoteMessage}`))].join('; ');
  return new KadmiumError(
    'PUT_REFUSED',
    `none of the ${candidates} closest nodes stored the item${reasons ? `: ${reasons}` : ' (no answer)'}`,
  );
}
