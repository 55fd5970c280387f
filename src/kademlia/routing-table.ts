/**
 * A Kademlia routing table with the BEP 5 rules, generic over id length.
 *
 * Buckets are kept as a list indexed by "bits in common with our id": bucket i holds ids that share
 * exactly i leading bits with ours, and the last bucket holds everything sharing more. Only that
 * last bucket (the one covering our own id) ever splits.
 *
 * The table decides; it does no I/O. When a full bucket holds a questionable node, `observe`
 * answers "ping this one" and the caller reports the outcome with `observe` or `failed`.
 *
 * Memory is a design constraint: a full node keeps hundreds of contacts and the simulator keeps
 * 100,000 tables in one process. So contacts are not objects. Each one is a fixed-size record in
 * one slab per table (id, IP bytes, port, family, flags, failures, a link to the next record in
 * its bucket, two float64 timestamps: 64 bytes for 20-byte ids), and a bucket is the heads of two
 * such chains (its contacts and its replacements), oldest first. What the table hands out
 * (`RoutingNode`) is a snapshot built on demand; serving paths that only need the packed wire
 * form (`closestPacked`) copy bytes straight from the slab and build no objects at all.
 */
import { type Address, type Family, isLocalAddress } from '../transport/address.js';
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from '../transport/ip.js';
import type { Slab } from '../util/slab.js';
import { InvalidArgumentError } from '../util/errors.js';
import { AddressIndex, type AddressKey, ipKeyOf } from './address-index.js';
import { EVICT_FAILURE_P, HANDOUT_FAILURE_P, likeliestToFail, preferring } from './failure-model.js';
import { asNodeId, commonPrefixLength, compareDistance, type NodeId } from './id.js';

export interface Contact {
  readonly id: NodeId;
  readonly address: Address;
  /**
   * The contact's public key, in a table built with `keyBytes` (the overlay: 33-byte secp256k1,
   * from which the id derives). Mainline contacts have none.
   */
  readonly key?: Uint8Array;
}

/**
 * What the table knew about a contact when asked: a snapshot, not a live view. Ask the table
 * again (`get`) to see later changes.
 */
export interface RoutingNode extends Contact {
  /** Clock time of its last reply to one of our queries; NEVER when it never replied. */
  readonly lastResponseAt: number;
  /** Clock time of its last query to us; NEVER when none. */
  readonly lastQueryAt: number;
  /** Queries in a row it failed to answer. */
  readonly failures: number;
  /**
   * It answered a query it had not provoked: it had not queried us within the NAT window, so the
   * answer crossed no NAT mapping it opened towards us. Only such nodes are worth handing out.
   */
  readonly reachable: boolean;
}

export type NodeState = 'good' | 'questionable' | 'bad';

export interface RoutingTableOptions {
  /** Bucket size (BEP 5: 8). */
  k?: number;
  /**
   * Multipliers of k for the farthest buckets, farthest first (bucket i holds up to
   * k * wideBuckets[i]; the rest hold k). The far buckets cover most of the id space, so more
   * contacts there let a lookup's first hop land several bits closer and save about one hop at
   * 100,000 nodes, at a cost of a few hundred records. Nothing on the wire changes: answers still
   * carry the k closest. Default: none (every bucket holds k).
   */
  wideBuckets?: readonly number[];
  /** Replacement cache size per bucket. */
  replacements?: number;
  /** A node is good while it answered us (or queried us, having answered before) within this long. */
  goodForMs?: number;
  /** How long a node's own query may keep a NAT open for our reply (default 2 min). */
  natWindowMs?: number;
  /** Failures in a row that make a node bad. */
  badAfterFailures?: number;
  /** Most nodes from one /24 (v4) or /48 (v6) in one bucket. */
  maxPerSubnetPerBucket?: number;
  /** Allow only one node per IP in the whole table. */
  oneNodePerIp?: boolean;
  /** Loopback and private ranges skip the diversity limits (for testnets and LANs). */
  exemptLocal?: boolean;
  /**
   * Nodes to favour (for example ids that pass a protocol's id check). When a bucket is full, a
   * favoured node that answered us replaces the stalest unfavoured one. Default: all equal.
   */
  prefer?: (node: Contact) => boolean;
  /**
   * Proximity neighbour selection: the smoothed RTT to an address, ms, when known. When a bucket
   * is full, a newcomer that answered us replaces the slowest member whose RTT is over
   * PNS_MARGIN times its own and PNS_MIN_GAIN_MS more (never a favoured member for an
   * unfavoured newcomer).
   */
  latencyOf?: (address: Address) => number | undefined;
  /**
   * Predictive replacement (failure-model.ts): the probability that a contact fails its next
   * query, when known. A full bucket evicts its likeliest-to-fail member for an answered newcomer
   * and pings that one instead of the stalest; answers put likely-alive contacts first.
   */
  failureOf?: (address: Address) => number | undefined;
  /**
   * Bytes of public key kept with each contact (0, the default, keeps none). When set, every
   * contact observed must carry a `key` of exactly this length; the protocol checks that the id
   * derives from it before the table sees it.
   */
  keyBytes?: number;
}

/** Which contacts `closest` and `closestPacked` consider, and in what order they hand them out. */
export interface ClosestOptions {
  /** Only contacts of this address family. */
  family?: Family;
  /** Only contacts that answered one of our queries at least once. */
  answered?: boolean;
  /**
   * Hand out reachable contacts first, but only from among the 2n closest: closeness still
   * matters more than proof, or a young network would hand out far nodes and lookups would
   * wander. Unproven contacts fill up to n, so a young network, where few are proven, still spreads.
   */
  reachableFirst?: boolean;
}

export const DEFAULT_K = 8;
/** A timestamp for "has not happened" (clock times are >= 0; the simulator starts at 0). */
export const NEVER = -1;
/** A typical UDP NAT mapping lifetime: an answer within this long of the node's query proves little. */
export const NAT_WINDOW_MS = 2 * 60_000;
export const GOOD_FOR_MS = 15 * 60_000;
/** A newcomer must be this many times faster than a member to take its place (latencyOf)... */
export const PNS_MARGIN = 2;
/** ...and this much faster, ms: on a LAN or loopback, sub-millisecond noise must not churn buckets. */
export const PNS_MIN_GAIN_MS = 20;
/** The widest a bucket may be, in multiples of k (records per table stay far below 65,535). */
export const MAX_WIDE_BUCKET = 64;

/** What `observe` did with a contact. */
export type ObserveResult =
  | { action: 'updated' }
  | { action: 'added'; bucket: number; replaced?: RoutingNode }
  | { action: 'cached'; bucket: number; ping?: RoutingNode }
  | {
      action: 'rejected';
      reason: 'self' | 'same-ip' | 'subnet-limit' | 'full' | 'id-length' | 'bad-address' | 'bad-key';
    };

/**
 * A bucket's contacts and the answered ones waiting to replace them, as two chains of records
 * linked through each record's `next` field, oldest first: a bucket holds no arrays of its own.
 */
interface Bucket {
  /** First record of the contacts; END when none. */
  head: number;
  size: number;
  /** First record of the replacements; END when none. */
  spare: number;
  spares: number;
  /** Clock time something in this bucket last changed or answered; drives refresh. */
  touchedAt: number;
}

/** The end of a chain (records are numbered below it: a table never holds 65,535 records). */
const END = 0xffff;

export interface ExportedTable {
  id: string;
  nodes: { id: string; host: string; port: number; key?: string }[];
}

/**
 * The address a call is working on, as bytes: parsed once per call and read only within that same
 * synchronous call, so every table can share one (a typed array is ~150 bytes a table otherwise).
 */
const scratchIp = new Uint8Array(16);
/** Records the slab starts with; it doubles when full. */
const INITIAL_RECORDS = 8;
const FLAG_REACHABLE = 1;

/**
 * Values a caller derives from a table's contacts (a wire encoding, say), kept per record with the
 * record's stamp and remade by `closestMapped` only when the record changed. One memo serves one
 * table; it holds at most one value per record the table ever had (tables keep a few hundred).
 */
export class RecordMemo<T> {
  table: RoutingTable | undefined;
  readonly stamps: number[] = [];
  readonly values: (T | undefined)[] = [];
  /** Values made and reused, for tests and stats. */
  made = 0;
  reused = 0;

  /** Values held. */
  get size(): number {
    let n = 0;
    for (const v of this.values) if (v !== undefined) n++;
    return n;
  }

  /** Forget every value (the counters stay). */
  clear(): void {
    this.stamps.length = 0;
    this.values.length = 0;
  }
}

export class RoutingTable {
  readonly k: number;
  private readonly wide: readonly number[];
  private readonly maxReplacements: number;
  private readonly goodForMs: number;
  private readonly natWindowMs: number;
  private readonly badAfter: number;
  private readonly maxPerSubnet: number;
  private readonly onePerIp: boolean;
  private readonly exemptLocal: boolean;
  private readonly prefer: ((node: Contact) => boolean) | undefined;
  private readonly latencyOf: ((address: Address) => number | undefined) | undefined;
  private readonly failureOf: ((address: Address) => number | undefined) | undefined;
  private readonly buckets: Bucket[];
  private count = 0;
  private readonly addresses = new AddressIndex((r) => this.portOf(r));

  // Record layout, in bytes from the record's start: id | IP (16, v4 in the first 4) | port (BE) |
  // family | flags | failures | next record in its chain (BE) | padding to 8 | lastResponseAt f64 |
  // lastQueryAt f64 | public key (keyBytes) | padding to 8.
  private readonly idLength: number;
  private readonly keyBytes: number;
  private readonly keyAt: number;
  private readonly ipAt: number;
  private readonly portAt: number;
  private readonly familyAt: number;
  private readonly flagsAt: number;
  private readonly failuresAt: number;
  private readonly nextAt: number;
  /** Index of lastResponseAt in `times`, relative to the record's first float64. */
  private readonly timesAt: number;
  private readonly recordBytes: number;
  private bytes: Uint8Array;
  private times: Float64Array;
  /** Records ever handed out (the slab's high-water mark), and released ones to reuse. */
  private used = 0;
  private readonly released: number[] = [];
  /**
   * Per record, a number that changes whenever the record does (see `RecordMemo`). Made on the
   * first memoised `closestMapped`: a table nobody memoises (a simulator holds 100,000) pays nothing.
   */
  private stamps: number[] | undefined;
  private lastStamp = 0;

  constructor(
    readonly localId: NodeId,
    options: RoutingTableOptions = {},
    now = 0,
  ) {
    this.k = options.k ?? DEFAULT_K;
    this.wide = (options.wideBuckets ?? []).map((m) => {
      if (!Number.isInteger(m) || m < 1 || m > MAX_WIDE_BUCKET)
        throw new InvalidArgumentError(`wideBuckets multipliers must be integers in [1, ${MAX_WIDE_BUCKET}]`);
      return m;
    });
    this.maxReplacements = options.replacements ?? this.k;
    this.goodForMs = options.goodForMs ?? GOOD_FOR_MS;
    this.natWindowMs = options.natWindowMs ?? NAT_WINDOW_MS;
    this.badAfter = options.badAfterFailures ?? 2;
    this.maxPerSubnet = options.maxPerSubnetPerBucket ?? 2;
    this.onePerIp = options.oneNodePerIp ?? true;
    this.exemptLocal = options.exemptLocal ?? true;
    this.prefer = options.prefer;
    this.latencyOf = options.latencyOf;
    this.failureOf = options.failureOf;
    this.buckets = [emptyBucket(now)];

    this.idLength = localId.length;
    this.ipAt = this.idLength;
    this.portAt = this.ipAt + 16;
    this.familyAt = this.portAt + 2;
    this.flagsAt = this.familyAt + 1;
    this.failuresAt = this.flagsAt + 1;
    this.nextAt = this.failuresAt + 1;
    const timesByte = (this.nextAt + 2 + 7) & ~7;
    this.timesAt = timesByte / 8;
    this.keyBytes = options.keyBytes ?? 0;
    this.keyAt = timesByte + 16;
    this.recordBytes = (this.keyAt + this.keyBytes + 7) & ~7;
    const slab = new ArrayBuffer(INITIAL_RECORDS * this.recordBytes);
    this.bytes = new Uint8Array(slab);
    this.times = new Float64Array(slab);
  }

  get size(): number {
    return this.count;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** How many contacts bucket `index` holds (k, times its wideBuckets multiplier if any). */
  bucketLimit(index: number): number {
    return this.k * (this.wide[index] ?? 1);
  }

  bucketIndex(id: Uint8Array): number {
    return Math.min(commonPrefixLength(id, this.localId), this.buckets.length - 1);
  }

  state(node: RoutingNode, now: number): NodeState {
    return this.stateOf(node.failures, node.lastResponseAt, node.lastQueryAt, now);
  }

  get(id: Uint8Array): RoutingNode | undefined {
    if (id.length !== this.idLength) return undefined;
    const r = this.find((this.buckets[this.bucketIndex(id)] as Bucket).head, id);
    return r < 0 ? undefined : this.snapshot(r);
  }

  /**
   * Whether the bucket a new contact `id` falls in is short of contacts: it holds fewer than k,
   * or it is the bucket covering our own id, which splits. A wide bucket's places beyond k do not
   * count: they fill from the answers to our own lookups, which verify a contact for nothing,
   * whereas admitting a querier costs a ping and its reply. Constant time, so it may be asked for
   * every inbound query.
   */
  shortOf(id: Uint8Array): boolean {
    if (id.length !== this.idLength) return false;
    const index = this.bucketIndex(id);
    if (index === this.buckets.length - 1 && this.buckets.length < this.idLength * 8) return true;
    return (this.buckets[index] as Bucket).size < this.k;
  }

  getByAddress(address: Address): RoutingNode | undefined {
    if (!this.parseIp(address)) return undefined;
    const r = this.addresses.heldAt(ipKeyOf(scratchIp, 0, address.family), address.port);
    return r < 0 ? undefined : this.snapshot(r);
  }

  /**
   * We heard from a contact: it answered our query (`responded`) or sent us one. Adds, updates,
   * caches, or rejects it, following BEP 5's rules for full buckets.
   */
  observe(contact: Contact, responded: boolean, now: number): ObserveResult {
    const { id, address } = contact;
    if (id.length !== this.idLength) return { action: 'rejected', reason: 'id-length' };
    if (compareDistance(id, id, this.localId) === 0) return { action: 'rejected', reason: 'self' };
    if (!this.parseIp(address)) return { action: 'rejected', reason: 'bad-address' };
    if (this.keyBytes > 0 && contact.key?.length !== this.keyBytes)
      return { action: 'rejected', reason: 'bad-key' };
    const existing = this.find((this.buckets[this.bucketIndex(id)] as Bucket).head, id);
    if (existing >= 0) {
      if (!this.sameAddress(existing, address.family, address.port)) {
        // Same id from another address: keep the one we know (an id is not proof of identity).
        return { action: 'rejected', reason: 'same-ip' };
      }
      this.touch(existing, responded, now);
      return { action: 'updated' };
    }
    if (responded) this.forgetRenamed(address);
    for (;;) {
      const index = this.bucketIndex(id);
      const bucket = this.buckets[index] as Bucket;
      const splits = index === this.buckets.length - 1 && this.buckets.length < this.idLength * 8;
      // The bucket covering our own id splits at k as in BEP 5; only a bucket split off from it
      // grows to its wide limit. A small network then keeps small buckets and splits as before,
      // instead of one bucket of up to 128 that never meets a full-bucket check.
      const limit = splits ? this.k : this.bucketLimit(index);
      if (bucket.size < limit || splits) {
        const refused = this.refusal(bucket, address);
        if (refused) return refused;
        if (bucket.size < limit) {
          this.insert(bucket, this.record(contact, responded, now), now);
          return { action: 'added', bucket: index };
        }
        this.split();
        continue;
      }
      let bad: number | undefined;
      for (let r = bucket.head; r !== END && bad === undefined; r = this.next(r)) {
        if (this.stateAt(r, now) === 'bad') bad = r;
      }
      const unfavoured =
        bad ??
        (responded
          ? (this.unfavouredIn(bucket, contact) ??
            this.slowerIn(bucket, contact) ??
            this.riskiestIn(this.chain(bucket.head), EVICT_FAILURE_P))
          : undefined);
      if (unfavoured !== undefined) {
        const refused = this.refusal(bucket, address);
        if (refused) return refused;
        const replaced = this.snapshot(unfavoured);
        this.removeFrom(bucket, unfavoured);
        this.release(unfavoured);
        this.insert(bucket, this.record(contact, responded, now), now);
        return { action: 'added', bucket: index, replaced };
      }
      // Only nodes that answered us are worth caching as replacements.
      if (!responded) return { action: 'rejected', reason: 'full' };
      const refused = this.refusal(bucket, address);
      if (refused) return refused;
      this.cache(bucket, this.record(contact, responded, now));
      let stalest = -1;
      for (const r of this.chain(bucket.head)) {
        if (this.stateAt(r, now) !== 'questionable') continue;
        if (stalest < 0 || this.lastSeen(r) < this.lastSeen(stalest)) stalest = r;
      }
      if (this.failureOf && stalest >= 0)
        stalest =
          this.riskiestIn(
            this.chain(bucket.head).filter((r) => this.stateAt(r, now) === 'questionable'),
            0,
          ) ?? stalest;
      return stalest >= 0
        ? { action: 'cached', bucket: index, ping: this.snapshot(stalest) }
        : { action: 'cached', bucket: index };
    }
  }

  /**
   * Why a new contact (its IP in `scratchIp`) may not go into `bucket`, or undefined when it may:
   * the diversity limits (unless its address is local and exempt), then one node per address
   * always and one per IP unless exempt. The IP check scans the whole table, so `observe` asks
   * only right before the table would change: most contacts a busy node hears of meet a full
   * bucket of good nodes and are turned away without it.
   */
  private refusal(bucket: Bucket, address: Address): ObserveResult | undefined {
    const exempt = this.exemptLocal && isLocalAddress(address.host);
    if (!exempt && this.subnetCount(bucket, address.family) >= this.maxPerSubnet) {
      return { action: 'rejected', reason: 'subnet-limit' };
    }
    const ip = ipKeyOf(scratchIp, 0, address.family);
    if (
      this.onePerIp && !exempt ? this.addresses.holdsIp(ip) : this.addresses.heldAt(ip, address.port) >= 0
    ) {
      return { action: 'rejected', reason: 'same-ip' };
    }
    return undefined;
  }

  /**
   * An address answered our query under an id we do not hold: whatever we hold there under
   * another id is stale (the node restarted, or re-derived its id after BEP 42 told it its
   * address), so the records go, and a waiting replacement takes a vacated bucket place. Without
   * this a bucket with room never finds out (only a full bucket pings its stale members), and the
   * old record turns the newcomer away as a second node at one address.
   *
   * Only an answer counts: a reply is accepted from the address the query went to and must echo
   * its random transaction id, so an off-path attacker cannot answer for an honest address, and a
   * node that controls an address can only rename its own record, which it could do anyway by
   * answering from a fresh port. A query, which anyone can send with a forged source address,
   * never renames.
   */
  private forgetRenamed(address: Address): void {
    // Called for every answer from an id we do not hold (its IP already in `scratchIp`): the
    // index says in one look whether anything is there; only a hit walks the chains.
    const { family, port } = address;
    const ip = ipKeyOf(scratchIp, 0, family);
    if (this.addresses.hasSpare(ip, port)) {
      // One address holds at most one replacement per chain, but may wait in several buckets.
      for (const bucket of this.buckets) {
        let spare = END;
        for (let r = bucket.spare; r !== END && spare === END; r = this.next(r))
          if (this.sameAddress(r, family, port)) spare = r;
        if (spare !== END) {
          this.unlinkSpare(bucket, spare);
          this.release(spare);
        }
      }
    }
    const held = this.addresses.heldAt(ip, port);
    if (held >= 0) {
      const bucket = this.buckets[Math.min(this.prefixOf(held), this.buckets.length - 1)] as Bucket;
      this.removeFrom(bucket, held);
      this.release(held);
      this.promoteSpare(bucket);
    }
  }

  /**
   * Move the newest replacement (it answered most recently) into the bucket; undefined if none.
   * A replacement whose address (or IP, where one node per IP holds) a contact took meanwhile
   * is dropped instead, as `refusal` would have turned it away.
   */
  private promoteSpare(bucket: Bucket): number | undefined {
    for (;;) {
      const promoted = this.chain(bucket.spare).pop();
      if (promoted === undefined) return undefined;
      this.unlinkSpare(bucket, promoted);
      if (this.taken(promoted)) {
        this.release(promoted);
        continue;
      }
      this.insert(bucket, promoted, Math.max(0, this.times[this.timeIndex(promoted)] as number));
      return promoted;
    }
  }

  /** Whether a contact already holds record r's address, or its IP where that is one per node. */
  private taken(r: number): boolean {
    const ip = this.ipKey(r);
    if (this.addresses.heldAt(ip, this.portOf(r)) >= 0) return true;
    if (!this.onePerIp || !this.addresses.holdsIp(ip)) return false;
    return !(this.exemptLocal && isLocalAddress(this.snapshot(r).address.host));
  }

  private ipKey(r: number): AddressKey {
    const o = r * this.recordBytes;
    return ipKeyOf(this.bytes, o + this.ipAt, this.bytes[o + this.familyAt] as Family);
  }

  /** Take replacement r out of its bucket's chain (it must be in it); the caller releases or moves it. */
  private unlinkSpare(bucket: Bucket, r: number): void {
    bucket.spare = this.unlink(bucket.spare, r);
    bucket.spares--;
    this.addresses.dropSpare(this.ipKey(r), this.portOf(r));
  }

  /**
   * A node failed to answer a query. Returns the node if it was removed (bad, or failing while a
   * replacement waits), along with the replacement promoted in its place.
   */
  failed(id: Uint8Array): { removed: RoutingNode; promoted?: RoutingNode } | undefined {
    if (id.length !== this.idLength) return undefined;
    const bucket = this.buckets[this.bucketIndex(id)] as Bucket;
    const r = this.find(bucket.head, id);
    if (r < 0) {
      const waiting = this.find(bucket.spare, id);
      if (waiting >= 0) {
        this.unlinkSpare(bucket, waiting);
        this.release(waiting);
      }
      return undefined;
    }
    const failures = Math.min(255, (this.bytes[r * this.recordBytes + this.failuresAt] as number) + 1);
    this.bytes[r * this.recordBytes + this.failuresAt] = failures;
    this.changed(r);
    if (failures < this.badAfter && bucket.spares === 0) return undefined;
    const removed = this.snapshot(r);
    this.removeFrom(bucket, r);
    this.release(r);
    const promoted = this.promoteSpare(bucket);
    return promoted === undefined ? { removed } : { removed, promoted: this.snapshot(promoted) };
  }

  remove(id: Uint8Array): boolean {
    if (id.length !== this.idLength) return false;
    const bucket = this.buckets[this.bucketIndex(id)] as Bucket;
    const r = this.find(bucket.head, id);
    if (r < 0) return false;
    this.removeFrom(bucket, r);
    this.release(r);
    return true;
  }

  /** The n contacts closest to target, nearest first (see `ClosestOptions` for filters and order). */
  closest(target: Uint8Array, n = this.k, options: ClosestOptions = {}): RoutingNode[] {
    return this.pick(target, n, options).map((r) => this.snapshot(r));
  }

  /**
   * `closest`, each contact mapped by `make`. With a memo, a contact's value is made once and
   * reused until the contact changes (it answers, fails, moves out): a busy server hands out the
   * same few hundred contacts over and over, and copying each out of the slab cost more than the
   * lookup itself.
   */
  closestMapped<T>(
    target: Uint8Array,
    n: number,
    options: ClosestOptions,
    make: (node: RoutingNode) => T,
    memo?: RecordMemo<T>,
  ): T[] {
    const records = this.pick(target, n, options);
    if (memo === undefined) return records.map((r) => make(this.snapshot(r)));
    if ((memo.table ??= this) !== this) throw new InvalidArgumentError('a RecordMemo serves one table');
    const stamps = (this.stamps ??= Array.from({ length: this.used }, () => ++this.lastStamp));
    return records.map((r) => {
      const stamp = stamps[r] as number;
      if (memo.stamps[r] === stamp) {
        memo.reused++;
        return memo.values[r] as T;
      }
      const value = make(this.snapshot(r));
      memo.stamps[r] = stamp;
      memo.values[r] = value;
      memo.made++;
      return value;
    });
  }

  /**
   * `closest`, packed the way datagrams carry contacts: each one its id, its IP bytes (4 or 16,
   * per `family`) and its port big-endian, back to back. Copied from the slab, no object per
   * contact: this runs for every find_node and get_peers a node serves. With `into`, the bytes
   * are carved from that slab: for bytes that are sent and dropped (util/slab.ts).
   */
  closestPacked(
    target: Uint8Array,
    n: number,
    options: ClosestOptions & { family: Family },
    into?: Slab,
  ): Uint8Array {
    const records = this.pick(target, n, options);
    const ipLength = options.family === 4 ? 4 : 16;
    const size = this.idLength + ipLength + 2;
    const out = into ? into.take(records.length * size) : new Uint8Array(records.length * size);
    const bytes = this.bytes;
    const recordBytes = this.recordBytes;
    const portAt = this.portAt;
    // The IP follows the id in a record, so id and IP are one run of bytes; then the port.
    const run = this.idLength + ipLength;
    let at = 0;
    for (const r of records) {
      const o = r * recordBytes;
      for (let i = 0; i < run; i++) out[at++] = bytes[o + i] as number;
      out[at++] = bytes[o + portAt] as number;
      out[at++] = bytes[o + portAt + 1] as number;
    }
    return out;
  }

  /** Every node, bucket by bucket. */
  *nodes(): IterableIterator<RoutingNode> {
    for (const bucket of this.buckets) for (const r of this.chain(bucket.head)) yield this.snapshot(r);
  }

  /** Indices of buckets nothing touched for `idleMs` (BEP 5: refresh after 15 minutes). */
  staleBuckets(now: number, idleMs = GOOD_FOR_MS): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.buckets.length; i++) {
      if (now - (this.buckets[i] as Bucket).touchedAt >= idleMs) out.push(i);
    }
    return out;
  }

  /** Mark a bucket fresh (a lookup went through its range). */
  touchBucket(index: number, now: number): void {
    const bucket = this.buckets[Math.min(index, this.buckets.length - 1)];
    if (bucket) bucket.touchedAt = now;
  }

  /** Bucket-by-bucket summary for status displays. */
  describe(now: number): {
    index: number;
    nodes: number;
    good: number;
    questionable: number;
    bad: number;
    replacements: number;
  }[] {
    return this.buckets.map((b, index) => {
      let good = 0;
      let questionable = 0;
      let bad = 0;
      for (const r of this.chain(b.head)) {
        const s = this.stateAt(r, now);
        if (s === 'good') good++;
        else if (s === 'questionable') questionable++;
        else bad++;
      }
      return { index, nodes: b.size, good, questionable, bad, replacements: b.spares };
    });
  }

  export(toHex: (b: Uint8Array) => string): ExportedTable {
    const nodes: ExportedTable['nodes'] = [];
    for (const n of this.nodes()) {
      const { host, port } = n.address;
      nodes.push({ id: toHex(n.id), host, port, ...(n.key ? { key: toHex(n.key) } : {}) });
    }
    return { id: toHex(this.localId), nodes };
  }

  // --- records -------------------------------------------------------------------------------

  /** Index in `times` of a record's lastResponseAt (lastQueryAt follows it). */
  private timeIndex(r: number): number {
    return (r * this.recordBytes) / 8 + this.timesAt;
  }

  /** A new record for a contact whose IP is in `scratchIp`. */
  private record(contact: Contact, responded: boolean, now: number): number {
    const { id, address } = contact;
    const r = this.allocate();
    const o = r * this.recordBytes;
    const bytes = this.bytes;
    for (let i = 0; i < this.idLength; i++) bytes[o + i] = id[i] as number;
    bytes.set(scratchIp, o + this.ipAt);
    bytes[o + this.portAt] = address.port >> 8;
    bytes[o + this.portAt + 1] = address.port & 0xff;
    bytes[o + this.familyAt] = address.family;
    // First heard of as an answer to our query: we reached it without its help.
    bytes[o + this.flagsAt] = responded ? FLAG_REACHABLE : 0;
    bytes[o + this.failuresAt] = 0;
    const t = this.timeIndex(r);
    this.times[t] = responded ? now : NEVER;
    this.times[t + 1] = responded ? NEVER : now;
    if (this.keyBytes > 0) bytes.set(contact.key as Uint8Array, o + this.keyAt);
    this.changed(r);
    return r;
  }

  /** The record's content changed: memoised values made from it are stale. */
  private changed(r: number): void {
    if (this.stamps !== undefined) this.stamps[r] = ++this.lastStamp;
  }

  private allocate(): number {
    const reused = this.released.pop();
    if (reused !== undefined) return reused;
    const capacity = this.bytes.length / this.recordBytes;
    // Chains number records below END; buckets * (k + replacements) stays far below it.
    if (this.used === END) throw new RangeError('routing table full: 65,535 records');
    if (this.used === capacity) {
      const slab = new ArrayBuffer(capacity * 2 * this.recordBytes);
      const bytes = new Uint8Array(slab);
      bytes.set(this.bytes);
      this.bytes = bytes;
      this.times = new Float64Array(slab);
    }
    return this.used++;
  }

  private release(r: number): void {
    this.bytes[r * this.recordBytes + this.familyAt] = 0;
    this.changed(r);
    this.released.push(r);
  }

  private snapshot(r: number): RoutingNode {
    const o = r * this.recordBytes;
    const bytes = this.bytes;
    const t = this.timeIndex(r);
    return {
      id: asNodeId(bytes.slice(o, o + this.idLength)),
      address: this.addressAt(r),
      ...(this.keyBytes > 0 ? { key: bytes.slice(o + this.keyAt, o + this.keyAt + this.keyBytes) } : {}),
      lastResponseAt: this.times[t] as number,
      lastQueryAt: this.times[t + 1] as number,
      failures: bytes[o + this.failuresAt] as number,
      reachable: ((bytes[o + this.flagsAt] as number) & FLAG_REACHABLE) !== 0,
    };
  }

  private addressAt(r: number): Address {
    const o = r * this.recordBytes;
    const bytes = this.bytes;
    const family = bytes[o + this.familyAt] as Family;
    const host = family === 4 ? bytesToIpv4(bytes, o + this.ipAt) : bytesToIpv6(bytes, o + this.ipAt);
    return { host, port: this.portOf(r), family };
  }

  /** Parse the address's IP into `scratchIp`; false when it is not an IP of its stated family. */
  private parseIp(address: Address): boolean {
    scratchIp.fill(0);
    return (
      (address.family === 4 ? ipv4ToBytes(address.host, scratchIp) : ipv6ToBytes(address.host, scratchIp)) !==
      undefined
    );
  }

  /** The record in the chain starting at `head` with this id, or -1. */
  private find(head: number, id: Uint8Array): number {
    const bytes = this.bytes;
    outer: for (let r = head; r !== END; r = this.next(r)) {
      const o = r * this.recordBytes;
      for (let i = 0; i < this.idLength; i++) if (bytes[o + i] !== id[i]) continue outer;
      return r;
    }
    return -1;
  }

  // --- chains: a bucket's records linked through their `next` field, oldest first -------------

  private next(r: number): number {
    const o = r * this.recordBytes + this.nextAt;
    return ((this.bytes[o] as number) << 8) | (this.bytes[o + 1] as number);
  }

  private setNext(r: number, next: number): void {
    const o = r * this.recordBytes + this.nextAt;
    this.bytes[o] = next >> 8;
    this.bytes[o + 1] = next & 0xff;
  }

  /** The chain's records, in order, as an array (safe to iterate while the chain changes). */
  private chain(head: number): number[] {
    const out: number[] = [];
    for (let r = head; r !== END; r = this.next(r)) out.push(r);
    return out;
  }

  /** Append r to the chain starting at `head`; returns the chain's (new) head. */
  private append(head: number, r: number): number {
    this.setNext(r, END);
    if (head === END) return r;
    let tail = head;
    for (let n = this.next(tail); n !== END; n = this.next(tail)) tail = n;
    this.setNext(tail, r);
    return head;
  }

  /** Take r out of the chain starting at `head` (it must be in it); returns the chain's head. */
  private unlink(head: number, r: number): number {
    if (head === r) return this.next(r);
    for (let p = head; p !== END; p = this.next(p)) {
      if (this.next(p) === r) {
        this.setNext(p, this.next(r));
        break;
      }
    }
    return head;
  }

  /** The record's IP equals `scratchIp` in its first `length` bytes (4 for v4). */
  private sameIp(r: number, family: Family, length: number): boolean {
    const o = r * this.recordBytes;
    if (this.bytes[o + this.familyAt] !== family) return false;
    const n = family === 4 ? Math.min(length, 4) : length;
    for (let i = 0; i < n; i++) if (this.bytes[o + this.ipAt + i] !== scratchIp[i]) return false;
    return true;
  }

  private sameAddress(r: number, family: Family, port: number): boolean {
    return this.sameIp(r, family, 16) && this.portOf(r) === port;
  }

  private portOf(r: number): number {
    const o = r * this.recordBytes + this.portAt;
    return ((this.bytes[o] as number) << 8) | (this.bytes[o + 1] as number);
  }

  private lastSeen(r: number): number {
    const t = this.timeIndex(r);
    return Math.max(this.times[t] as number, this.times[t + 1] as number);
  }

  private stateAt(r: number, now: number): NodeState {
    const t = this.timeIndex(r);
    return this.stateOf(
      this.bytes[r * this.recordBytes + this.failuresAt] as number,
      this.times[t] as number,
      this.times[t + 1] as number,
      now,
    );
  }

  private stateOf(failures: number, lastResponseAt: number, lastQueryAt: number, now: number): NodeState {
    if (failures >= this.badAfter) return 'bad';
    if (lastResponseAt === NEVER) return 'questionable';
    if (now - lastResponseAt < this.goodForMs) return 'good';
    // It answered us once and still queries us: BEP 5 counts it good.
    if (lastQueryAt !== NEVER && now - lastQueryAt < this.goodForMs) return 'good';
    return 'questionable';
  }

  /** Leading bits a record's id shares with ours. */
  private prefixOf(r: number): number {
    const o = r * this.recordBytes;
    for (let i = 0; i < this.idLength; i++) {
      const x = (this.bytes[o + i] as number) ^ (this.localId[i] as number);
      if (x !== 0) return i * 8 + Math.clz32(x) - 24;
    }
    return this.idLength * 8;
  }

  /** Negative when record a is closer to target than record b, positive when farther. */
  private compareRecords(target: Uint8Array, a: number, b: number): number {
    const oa = a * this.recordBytes;
    const ob = b * this.recordBytes;
    for (let i = 0; i < this.idLength; i++) {
      const t = target[i] as number;
      const da = (this.bytes[oa + i] as number) ^ t;
      const db = (this.bytes[ob + i] as number) ^ t;
      if (da !== db) return da - db;
    }
    return 0;
  }

  // --- buckets -------------------------------------------------------------------------------

  /**
   * The records `closest` hands out. Buckets fall into distance classes relative to target: its
   * own bucket is nearest, then all deeper buckets together, then each shallower bucket in turn.
   * The walk follows that order and stops once n records are held and the next class is farther,
   * keeping the best n by bounded insertion on the first 32 bits of XOR distance (full comparison
   * only on ties).
   */
  private pick(target: Uint8Array, n: number, options: ClosestOptions): number[] {
    const nearest = this.nearest(target, n, options);
    const failureOf = this.failureOf;
    if (!options.reachableFirst && failureOf === undefined) return nearest;
    const ok = (r: number): boolean =>
      (!options.reachableFirst || this.reachableAt(r)) &&
      (failureOf === undefined || (failureOf(this.snapshot(r).address) ?? 0) < HANDOUT_FAILURE_P);
    if (nearest.every(ok)) return nearest;
    return preferring(this.nearest(target, n * 2, options), n, ok);
  }

  /** With `failureOf`: the record likeliest to fail, at least `atLeast`. */
  private riskiestIn(records: readonly number[], atLeast: number): number | undefined {
    const failureOf = this.failureOf;
    return failureOf && likeliestToFail(records, (r) => failureOf(this.snapshot(r).address), atLeast);
  }

  private reachableAt(r: number): boolean {
    return ((this.bytes[r * this.recordBytes + this.flagsAt] as number) & FLAG_REACHABLE) !== 0;
  }

  private nearest(target: Uint8Array, n: number, options: ClosestOptions): number[] {
    const out: number[] = [];
    const keys: number[] = [];
    if (n <= 0 || target.length !== this.idLength) return out;
    const { family, answered } = options;
    const bytes = this.bytes;
    const times = this.times;
    const t0 = target[0] as number;
    const t1 = target[1] as number;
    const t2 = target[2] as number;
    const t3 = target[3] as number;
    const consider = (r: number): void => {
      const o = r * this.recordBytes;
      if (family !== undefined && bytes[o + this.familyAt] !== family) return;
      if (answered && times[this.timeIndex(r)] === NEVER) return;
      const key =
        ((((bytes[o] as number) ^ t0) << 24) |
          (((bytes[o + 1] as number) ^ t1) << 16) |
          (((bytes[o + 2] as number) ^ t2) << 8) |
          ((bytes[o + 3] as number) ^ t3)) >>>
        0;
      let at = out.length;
      while (at > 0) {
        const k = keys[at - 1] as number;
        if (k < key || (k === key && this.compareRecords(target, out[at - 1] as number, r) <= 0)) break;
        at--;
      }
      if (at >= n) return;
      // Shift the farther ones up by one (dropping the farthest when n are held), then place r.
      for (let i = Math.min(out.length, n - 1); i > at; i--) {
        out[i] = out[i - 1] as number;
        keys[i] = keys[i - 1] as number;
      }
      out[at] = r;
      keys[at] = key;
    };
    const last = this.buckets.length - 1;
    const c = this.bucketIndex(target);
    const visit = (bucket: Bucket): void => {
      for (let r = bucket.head; r !== END; r = this.next(r)) consider(r);
    };
    visit(this.buckets[c] as Bucket);
    if (out.length < n) for (let i = c + 1; i <= last; i++) visit(this.buckets[i] as Bucket);
    for (let i = c - 1; i >= 0 && out.length < n; i--) visit(this.buckets[i] as Bucket);
    return out;
  }

  private touch(r: number, responded: boolean, now: number): void {
    this.changed(r);
    const t = this.timeIndex(r);
    if (responded) {
      this.times[t] = now;
      const o = r * this.recordBytes;
      this.bytes[o + this.failuresAt] = 0;
      const lastQueryAt = this.times[t + 1] as number;
      if (lastQueryAt === NEVER || now - lastQueryAt > this.natWindowMs) {
        this.bytes[o + this.flagsAt] = (this.bytes[o + this.flagsAt] as number) | FLAG_REACHABLE;
      }
    } else {
      this.times[t + 1] = now;
    }
    (this.buckets[Math.min(this.prefixOf(r), this.buckets.length - 1)] as Bucket).touchedAt = now;
  }

  private insert(bucket: Bucket, r: number, now: number): void {
    bucket.head = this.append(bucket.head, r);
    bucket.size++;
    bucket.touchedAt = Math.max(bucket.touchedAt, now);
    this.count++;
    this.addresses.hold(this.ipKey(r), r);
  }

  private removeFrom(bucket: Bucket, r: number): void {
    if (!this.chain(bucket.head).includes(r)) return;
    bucket.head = this.unlink(bucket.head, r);
    bucket.size--;
    this.count--;
    this.addresses.drop(this.ipKey(r), r);
  }

  /** Keep an answered newcomer (in its own record) to replace a failing node later. */
  private cache(bucket: Bucket, r: number): void {
    const family = this.bytes[r * this.recordBytes + this.familyAt] as Family;
    const port = this.portOf(r);
    const ip = this.ipKey(r);
    const same = this.addresses.hasSpare(ip, port)
      ? this.chain(bucket.spare).find((w) => this.sameAddress(w, family, port))
      : undefined;
    if (same !== undefined) {
      this.unlinkSpare(bucket, same);
      this.release(same);
    }
    bucket.spare = this.append(bucket.spare, r);
    bucket.spares++;
    this.addresses.addSpare(ip, port);
    if (bucket.spares > this.maxReplacements) {
      const oldest = bucket.spare;
      this.unlinkSpare(bucket, oldest);
      this.release(oldest);
    }
  }

  /** The slowest record PNS_MARGIN times slower than the newcomer, with `latencyOf`. */
  private slowerIn(bucket: Bucket, newcomer: Contact): number | undefined {
    const latencyOf = this.latencyOf;
    const mine = latencyOf?.(newcomer.address);
    if (latencyOf === undefined || mine === undefined) return undefined;
    const newcomerFavoured = !this.prefer || this.prefer(newcomer);
    let slowest: number | undefined;
    let slowestRtt = Math.max(mine * PNS_MARGIN, mine + PNS_MIN_GAIN_MS);
    for (let r = bucket.head; r !== END; r = this.next(r)) {
      const rtt = latencyOf(this.addressAt(r));
      if (rtt === undefined || rtt <= slowestRtt) continue;
      // Asked last: `prefer` checks a BEP 42 id (an IP parse and a CRC), and a full far bucket
      // holds up to 128 members, of which only the few slower than the bar matter.
      if (!newcomerFavoured && this.prefer?.(this.snapshot(r))) continue;
      slowest = r;
      slowestRtt = rtt;
    }
    return slowest;
  }

  /** The stalest record `prefer` rejects, when `prefer` favours the newcomer. */
  private unfavouredIn(bucket: Bucket, newcomer: Contact): number | undefined {
    if (!this.prefer || !this.prefer(newcomer)) return undefined;
    let stalest: number | undefined;
    for (const r of this.chain(bucket.head)) {
      if (this.prefer(this.snapshot(r))) continue;
      if (stalest === undefined || this.lastSeen(r) < this.lastSeen(stalest)) stalest = r;
    }
    return stalest;
  }

  /** Records in the bucket in the same /24 (v4) or /48 (v6) as `scratchIp`. */
  private subnetCount(bucket: Bucket, family: Family): number {
    const prefix = family === 4 ? 3 : 6;
    let n = 0;
    for (let r = bucket.head; r !== END; r = this.next(r)) if (this.sameIp(r, family, prefix)) n++;
    return n;
  }

  /** Split the last bucket: records that share one more bit with us move to a new last bucket. */
  private split(): void {
    const last = this.buckets[this.buckets.length - 1] as Bucket;
    const depth = this.buckets.length - 1;
    const far = emptyBucket(last.touchedAt);
    const near = emptyBucket(last.touchedAt);
    for (const r of this.chain(last.head)) {
      const to = this.prefixOf(r) > depth ? near : far;
      to.head = this.append(to.head, r);
      to.size++;
    }
    for (const r of this.chain(last.spare)) {
      const to = this.prefixOf(r) > depth ? near : far;
      to.spare = this.append(to.spare, r);
      to.spares++;
    }
    this.buckets[depth] = far;
    this.buckets.push(near);
  }
}

function emptyBucket(touchedAt: number): Bucket {
  return { head: END, size: 0, spare: END, spares: 0, touchedAt };
}
