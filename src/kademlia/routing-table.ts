/**
 * A Kademlia routing table with the BEP 5 rules, generic over id length.
 *
 * Buckets are kept as a list indexed by "bits in common with our id": bucket i holds ids that share
 * exactly i leading bits with ours, and the last bucket holds everything sharing more. Only that
 * last bucket (the one covering our own id) ever splits.
 *
 * The table decides; it does no I/O. When a full bucket holds a questionable node, `observe`
 * answers "ping this one" and the caller reports the outcome with `observe` or `failed`.
 */
import { type Address, addressKey, isLocalAddress, subnetKey } from '../transport/address.js';
import { asNodeId, commonPrefixLength, compareDistance, type NodeId } from './id.js';

export interface Contact {
  readonly id: NodeId;
  readonly address: Address;
}

export interface RoutingNode extends Contact {
  /** Clock time of its last reply to one of our queries; NEVER when it never replied. */
  lastResponseAt: number;
  /** Clock time of its last query to us; NEVER when none. */
  lastQueryAt: number;
  /** Queries in a row it failed to answer. */
  failures: number;
  /**
   * It answered a query it had not provoked: it had not queried us within the NAT window, so the
   * answer crossed no NAT mapping it opened towards us. Only such nodes are worth handing out.
   */
  reachable: boolean;
}

export type NodeState = 'good' | 'questionable' | 'bad';

export interface RoutingTableOptions {
  /** Bucket size (BEP 5: 8). */
  k?: number;
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
}

export const DEFAULT_K = 8;
/** A timestamp for "has not happened" (clock times are >= 0; the simulator starts at 0). */
export const NEVER = -1;
/** A typical UDP NAT mapping lifetime: an answer within this long of the node's query proves little. */
export const NAT_WINDOW_MS = 2 * 60_000;
export const GOOD_FOR_MS = 15 * 60_000;

/** What `observe` did with a contact. */
export type ObserveResult =
  | { action: 'updated' }
  | { action: 'added'; bucket: number; replaced?: RoutingNode }
  | { action: 'cached'; bucket: number; ping?: RoutingNode }
  | { action: 'rejected'; reason: 'self' | 'same-ip' | 'subnet-limit' | 'full' | 'id-length' };

interface Bucket {
  nodes: RoutingNode[];
  replacements: RoutingNode[];
  /** Clock time something in this bucket last changed or answered; drives refresh. */
  touchedAt: number;
}

export interface ExportedTable {
  id: string;
  nodes: { id: string; host: string; port: number }[];
}

export class RoutingTable {
  readonly k: number;
  private readonly maxReplacements: number;
  private readonly goodForMs: number;
  private readonly natWindowMs: number;
  private readonly badAfter: number;
  private readonly maxPerSubnet: number;
  private readonly onePerIp: boolean;
  private readonly exemptLocal: boolean;
  private readonly prefer: ((node: Contact) => boolean) | undefined;
  private readonly buckets: Bucket[];
  /**
   * host -> the node (or nodes, when several share an IP) with that host: lookups by address and
   * the one-node-per-IP rule. Keyed by the address's own host string, so no key is built per node.
   */
  private readonly byHost = new Map<string, RoutingNode | RoutingNode[]>();
  private count = 0;

  constructor(
    readonly localId: NodeId,
    options: RoutingTableOptions = {},
    now = 0,
  ) {
    this.k = options.k ?? DEFAULT_K;
    this.maxReplacements = options.replacements ?? this.k;
    this.goodForMs = options.goodForMs ?? GOOD_FOR_MS;
    this.natWindowMs = options.natWindowMs ?? NAT_WINDOW_MS;
    this.badAfter = options.badAfterFailures ?? 2;
    this.maxPerSubnet = options.maxPerSubnetPerBucket ?? 2;
    this.onePerIp = options.oneNodePerIp ?? true;
    this.exemptLocal = options.exemptLocal ?? true;
    this.prefer = options.prefer;
    this.buckets = [{ nodes: [], replacements: [], touchedAt: now }];
  }

  get size(): number {
    return this.count;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  bucketIndex(id: Uint8Array): number {
    return Math.min(commonPrefixLength(id, this.localId), this.buckets.length - 1);
  }

  state(node: RoutingNode, now: number): NodeState {
    if (node.failures >= this.badAfter) return 'bad';
    if (node.lastResponseAt === NEVER) return 'questionable';
    if (now - node.lastResponseAt < this.goodForMs) return 'good';
    // It answered us once and still queries us: BEP 5 counts it good.
    if (node.lastQueryAt !== NEVER && now - node.lastQueryAt < this.goodForMs) return 'good';
    return 'questionable';
  }

  get(id: Uint8Array): RoutingNode | undefined {
    const bucket = this.buckets[this.bucketIndex(id)] as Bucket;
    return bucket.nodes.find((n) => compareDistance(id, n.id, id) === 0);
  }

  getByAddress(address: Address): RoutingNode | undefined {
    const entry = this.byHost.get(address.host);
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return entry.address.port === address.port ? entry : undefined;
    return entry.find((n) => n.address.port === address.port);
  }

  /**
   * We heard from a contact: it answered our query (`responded`) or sent us one. Adds, updates,
   * caches, or rejects it, following BEP 5's rules for full buckets.
   */
  observe(contact: Contact, responded: boolean, now: number): ObserveResult {
    const { id, address } = contact;
    if (id.length !== this.localId.length) return { action: 'rejected', reason: 'id-length' };
    if (compareDistance(id, id, this.localId) === 0) return { action: 'rejected', reason: 'self' };
    const existing = this.get(id);
    if (existing) {
      if (existing.address.host !== address.host || existing.address.port !== address.port) {
        // Same id from another address: keep the one we know (an id is not proof of identity).
        return { action: 'rejected', reason: 'same-ip' };
      }
      this.touch(existing, responded, now);
      return { action: 'updated' };
    }
    const exempt = this.exemptLocal && isLocalAddress(address.host);
    // One node per address always; one per IP unless exempt.
    if (
      (this.onePerIp && !exempt && this.byHost.has(address.host)) ||
      this.getByAddress(address) !== undefined
    ) {
      return { action: 'rejected', reason: 'same-ip' };
    }
    const node: RoutingNode = {
      id: asNodeId(id),
      address,
      lastResponseAt: responded ? now : NEVER,
      lastQueryAt: responded ? NEVER : now,
      // First heard of as an answer to our query: we reached it without its help.
      reachable: responded,
      failures: 0,
    };
    for (;;) {
      const index = this.bucketIndex(id);
      const bucket = this.buckets[index] as Bucket;
      if (!exempt && this.subnetCount(bucket, address.host) >= this.maxPerSubnet) {
        return { action: 'rejected', reason: 'subnet-limit' };
      }
      if (bucket.nodes.length < this.k) {
        this.insert(bucket, node, now);
        return { action: 'added', bucket: index };
      }
      if (index === this.buckets.length - 1 && this.buckets.length < this.localId.length * 8) {
        this.split();
        continue;
      }
      const bad = bucket.nodes.find((n) => this.state(n, now) === 'bad');
      if (bad) {
        this.removeFrom(bucket, bad);
        this.insert(bucket, node, now);
        return { action: 'added', bucket: index, replaced: bad };
      }
      const unfavoured = responded ? this.unfavouredIn(bucket, node) : undefined;
      if (unfavoured) {
        this.removeFrom(bucket, unfavoured);
        this.insert(bucket, node, now);
        return { action: 'added', bucket: index, replaced: unfavoured };
      }
      // Only nodes that answered us are worth caching as replacements.
      if (!responded) return { action: 'rejected', reason: 'full' };
      this.cache(bucket, node);
      let stalest: RoutingNode | undefined;
      for (const n of bucket.nodes) {
        if (this.state(n, now) !== 'questionable') continue;
        if (!stalest || lastSeen(n) < lastSeen(stalest)) stalest = n;
      }
      return stalest
        ? { action: 'cached', bucket: index, ping: stalest }
        : { action: 'cached', bucket: index };
    }
  }

  /**
   * A node failed to answer a query. Returns the node if it was removed (bad, or failing while a
   * replacement waits), along with the replacement promoted in its place.
   */
  failed(id: Uint8Array): { removed: RoutingNode; promoted?: RoutingNode } | undefined {
    const bucket = this.buckets[this.bucketIndex(id)] as Bucket;
    const node = bucket.nodes.find((n) => compareDistance(id, n.id, id) === 0);
    if (!node) {
      const i = bucket.replacements.findIndex((n) => compareDistance(id, n.id, id) === 0);
      if (i >= 0) bucket.replacements.splice(i, 1);
      return undefined;
    }
    node.failures++;
    if (node.failures < this.badAfter && bucket.replacements.length === 0) return undefined;
    this.removeFrom(bucket, node);
    const promoted = bucket.replacements.pop();
    if (promoted) this.insert(bucket, promoted, Math.max(0, promoted.lastResponseAt));
    return promoted ? { removed: node, promoted } : { removed: node };
  }

  remove(id: Uint8Array): boolean {
    const bucket = this.buckets[this.bucketIndex(id)] as Bucket;
    const node = bucket.nodes.find((n) => compareDistance(id, n.id, id) === 0);
    if (!node) return false;
    this.removeFrom(bucket, node);
    return true;
  }

  /**
   * The n contacts closest to target, nearest first (optionally only those passing `filter`).
   *
   * Buckets fall into distance classes relative to target: its own bucket is nearest, then all
   * deeper buckets together, then each shallower bucket in turn. The walk follows that order and
   * stops once n nodes are held and the next class is farther, keeping the best n by bounded
   * insertion on the first 32 bits of XOR distance (full comparison only on ties). This runs for
   * every find_node and get_peers served, so it allocates nothing but the result.
   */
  closest(target: Uint8Array, n = this.k, filter?: (node: RoutingNode) => boolean): RoutingNode[] {
    const out: RoutingNode[] = [];
    const keys: number[] = [];
    if (n <= 0) return out;
    const t0 = target[0] as number;
    const t1 = target[1] as number;
    const t2 = target[2] as number;
    const t3 = target[3] as number;
    const consider = (node: RoutingNode): void => {
      if (filter && !filter(node)) return;
      const id = node.id;
      const key =
        ((((id[0] as number) ^ t0) << 24) |
          (((id[1] as number) ^ t1) << 16) |
          (((id[2] as number) ^ t2) << 8) |
          ((id[3] as number) ^ t3)) >>>
        0;
      let at = out.length;
      while (at > 0) {
        const k = keys[at - 1] as number;
        if (k < key || (k === key && compareDistance(target, (out[at - 1] as RoutingNode).id, id) <= 0))
          break;
        at--;
      }
      if (at >= n) return;
      out.splice(at, 0, node);
      keys.splice(at, 0, key);
      if (out.length > n) {
        out.pop();
        keys.pop();
      }
    };
    const last = this.buckets.length - 1;
    const c = this.bucketIndex(target);
    for (const node of (this.buckets[c] as Bucket).nodes) consider(node);
    if (out.length < n) {
      for (let i = c + 1; i <= last; i++)
        for (const node of (this.buckets[i] as Bucket).nodes) consider(node);
    }
    for (let i = c - 1; i >= 0 && out.length < n; i--) {
      for (const node of (this.buckets[i] as Bucket).nodes) consider(node);
    }
    return out;
  }

  /** Every node, bucket by bucket. */
  *nodes(): IterableIterator<RoutingNode> {
    for (const bucket of this.buckets) yield* bucket.nodes;
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
      for (const n of b.nodes) {
        const s = this.state(n, now);
        if (s === 'good') good++;
        else if (s === 'questionable') questionable++;
        else bad++;
      }
      return { index, nodes: b.nodes.length, good, questionable, bad, replacements: b.replacements.length };
    });
  }

  export(toHex: (b: Uint8Array) => string): ExportedTable {
    const nodes: ExportedTable['nodes'] = [];
    for (const n of this.nodes()) nodes.push({ id: toHex(n.id), host: n.address.host, port: n.address.port });
    return { id: toHex(this.localId), nodes };
  }

  private touch(node: RoutingNode, responded: boolean, now: number): void {
    if (responded) {
      node.lastResponseAt = now;
      node.failures = 0;
      if (node.lastQueryAt === NEVER || now - node.lastQueryAt > this.natWindowMs) node.reachable = true;
    } else {
      node.lastQueryAt = now;
    }
    (this.buckets[this.bucketIndex(node.id)] as Bucket).touchedAt = now;
  }

  private insert(bucket: Bucket, node: RoutingNode, now: number): void {
    bucket.nodes.push(node);
    bucket.touchedAt = Math.max(bucket.touchedAt, now);
    const host = node.address.host;
    const entry = this.byHost.get(host);
    if (entry === undefined) this.byHost.set(host, node);
    else if (Array.isArray(entry)) entry.push(node);
    else this.byHost.set(host, [entry, node]);
    this.count++;
  }

  private removeFrom(bucket: Bucket, node: RoutingNode): void {
    const i = bucket.nodes.indexOf(node);
    if (i < 0) return;
    bucket.nodes.splice(i, 1);
    const host = node.address.host;
    const entry = this.byHost.get(host);
    if (entry === node) {
      this.byHost.delete(host);
    } else if (Array.isArray(entry)) {
      const j = entry.indexOf(node);
      if (j >= 0) entry.splice(j, 1);
      if (entry.length === 1) this.byHost.set(host, entry[0] as RoutingNode);
    }
    this.count--;
  }

  private cache(bucket: Bucket, node: RoutingNode): void {
    const i = bucket.replacements.findIndex((n) => addressKey(n.address) === addressKey(node.address));
    if (i >= 0) bucket.replacements.splice(i, 1);
    bucket.replacements.push(node);
    if (bucket.replacements.length > this.maxReplacements) bucket.replacements.shift();
  }

  /** The stalest node `prefer` rejects, when `prefer` favours the newcomer. */
  private unfavouredIn(bucket: Bucket, newcomer: RoutingNode): RoutingNode | undefined {
    if (!this.prefer || !this.prefer(newcomer)) return undefined;
    let stalest: RoutingNode | undefined;
    for (const n of bucket.nodes) {
      if (this.prefer(n)) continue;
      if (!stalest || lastSeen(n) < lastSeen(stalest)) stalest = n;
    }
    return stalest;
  }

  private subnetCount(bucket: Bucket, host: string): number {
    const subnet = subnetKey(host);
    let n = 0;
    for (const node of bucket.nodes) if (subnetKey(node.address.host) === subnet) n++;
    return n;
  }

  /** Split the last bucket: nodes that share one more bit with us move to a new last bucket. */
  private split(): void {
    const last = this.buckets[this.buckets.length - 1] as Bucket;
    const depth = this.buckets.length - 1;
    const near: Bucket = { nodes: [], replacements: [], touchedAt: last.touchedAt };
    const far: Bucket = { nodes: [], replacements: [], touchedAt: last.touchedAt };
    for (const node of last.nodes)
      (commonPrefixLength(node.id, this.localId) > depth ? near : far).nodes.push(node);
    for (const node of last.replacements)
      (commonPrefixLength(node.id, this.localId) > depth ? near : far).replacements.push(node);
    this.buckets[depth] = far;
    this.buckets.push(near);
  }
}

function lastSeen(n: RoutingNode): number {
  return Math.max(n.lastResponseAt, n.lastQueryAt);
}
