/**
 * Dht: the public API of a Mainline node. It owns the pieces below it (transport, rpc, routing
 * table, tokens, peer store) and wires them together; each piece stays testable on its own.
 *
 *   const dht = new Dht({ bootstrap: ['router.bittorrent.com:6881'] });
 *   await dht.start();
 *   for await (const peer of dht.getPeers(infoHash)) console.log(peer);
 *   await dht.announce(infoHash, { port: 6881 });
 *   await dht.close();
 */
import { setMaxListeners } from 'node:events';
import {
  asNodeId,
  idToHex,
  type NodeId,
  nodeIdFromHex,
  randomIdWithPrefix,
  randomNodeId,
} from '../kademlia/id.js';
import { type LookupReply, type LookupResult, lookup } from '../kademlia/lookup.js';
import {
  type Contact,
  type ExportedTable,
  type ObserveResult,
  RoutingTable,
  type RoutingTableOptions,
} from '../kademlia/routing-table.js';
import {
  BadReplyError,
  MainlineClient,
  type PeersReply,
  type ReplyBase,
} from '../protocols/mainline/client.js';
import type { HandlerContext } from '../protocols/mainline/handlers/index.js';
import { ID_LENGTH } from '../protocols/mainline/messages.js';
import { createServer } from '../protocols/mainline/server.js';
import { TokenManager } from '../protocols/mainline/tokens.js';
import type { RateLimitOptions } from '../rpc/rate-limit.js';
import { Rpc } from '../rpc/rpc.js';
import { bytesEqual } from '../util/bytes.js';
import { DEFAULT_ITEM_LIMITS, ItemStore, MemoryItemBackend } from '../storage/item-store.js';
import { MemoryPeerStore, type PeerStore } from '../storage/peer-store.js';
import { type Address, addressKey, makeAddress } from '../transport/address.js';
import type { Transport } from '../transport/transport.js';
import { createUdpTransport } from '../transport/udp.js';
import { deadline } from '../util/abort.js';
import { AsyncQueue } from '../util/async-queue.js';
import { type Clock, every, sleep, systemClock, type Timer } from '../util/clock.js';
import { ClosedError, InvalidArgumentError, KadmiumError, TimeoutError } from '../util/errors.js';
import { EventBus } from '../util/events.js';
import { type Random, systemRandom } from '../util/random.js';
import * as defaults from './defaults.js';
import type { DhtEvents, LookupKind } from './events.js';
import {
  type GetResult,
  type ItemCallOptions,
  type ItemGetOptions,
  ItemOperations,
  type MutablePutOptions,
  type PutResult,
} from './items.js';
import { type Resolver, resolveAll, systemResolver } from './resolve.js';
import type { BValue } from '../wire/bencode.js';

export interface DhtOptions {
  /** Our node id (20 bytes); random by default, or the one in `routingTable` when restoring. */
  id?: Uint8Array;
  /** UDP port to bind (0 = any free port). Ignored when `transport` is given. */
  port?: number;
  /** Address to bind; default 0.0.0.0. */
  host?: string;
  /** An already-bound transport (the simulator's, or a custom one). */
  transport?: Transport;
  /** "host:port" routers to join through; false for none (a first node of a private network). */
  bootstrap?: readonly string[] | false;
  /** Bucket size, and the number of closest nodes lookups converge on. */
  k?: number;
  /** Parallel queries per lookup. */
  alpha?: number;
  clock?: Clock;
  random?: Random;
  resolver?: Resolver;
  peerStore?: PeerStore;
  /** BEP 44 item store (default: in memory). */
  itemStore?: ItemStore;
  /** Store every valid item, not only those we are among the K closest to (a "full node"). */
  fullNode?: boolean;
  /** Per-attempt query timeout, ms. */
  timeoutMs?: number;
  /** After this long a query no longer holds a lookup slot, ms. */
  shortTimeoutMs?: number;
  /** Per-IP limit on inbound queries; false disables it. */
  rateLimit?: RateLimitOptions | false;
  /** BEP 43 read-only: send ro=1 and answer no queries. */
  readOnly?: boolean;
  routing?: RoutingTableOptions;
  /** A table saved by exportRoutingTable(), for a fast rejoin. */
  routingTable?: ExportedTable;
  lookupTimeoutMs?: number;
  maintenanceIntervalMs?: number;
  /** After joining, refresh sparse buckets in the background (default true). */
  refreshOnStart?: boolean;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Overall time limit for this call, ms. */
  timeoutMs?: number | undefined;
}

export interface AnnounceOptions extends CallOptions {
  /** The port peers should connect to; default: implied (the source port of our announce). */
  port?: number | undefined;
  /** BEP 33: announce as a seed. */
  seed?: boolean;
}

export interface BootstrapResult {
  ok: boolean;
  /** Bootstrap nodes that answered. */
  responded: number;
  tried: number;
  tableSize: number;
  message: string;
}

export interface AnnounceResult {
  /** Nodes that accepted our announce. */
  announcedTo: number;
  /** Closest nodes that gave us a token. */
  candidates: number;
  /** Peers already known for the infohash, found on the way. */
  peers: Address[];
}

type PeersLookup = LookupResult<PeersReply>;

export class Dht {
  readonly events = new EventBus<DhtEvents>();
  readonly k: number;
  readonly alpha: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  private idBytes: NodeId;
  private transport: Transport | undefined;
  private rpc: Rpc | undefined;
  private client: MainlineClient | undefined;
  private tableRef: RoutingTable;
  private readonly tokens: TokenManager;
  private readonly shutdownController = new AbortController();
  private readonly itemOps: ItemOperations;
  private maintenance: Timer | undefined;
  private readonly pinging = new Set<string>();
  private refreshing = 0;
  private bootstrapLoop: Promise<void> | undefined;
  private bootstrapped = false;
  private closed = false;
  private handlerContext: HandlerContext | undefined;

  constructor(private readonly options: DhtOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.k = options.k ?? 8;
    this.alpha = options.alpha ?? defaults.DEFAULT_ALPHA;
    if (!Number.isInteger(this.k) || this.k < 1)
      throw new InvalidArgumentError(`k must be a positive integer, got ${this.k}`);
    if (!Number.isInteger(this.alpha) || this.alpha < 1)
      throw new InvalidArgumentError(`alpha must be a positive integer, got ${this.alpha}`);
    const saved = options.routingTable ? nodeIdFromHex(options.routingTable.id, ID_LENGTH) : undefined;
    const id = options.id ?? saved ?? randomNodeId(this.random, ID_LENGTH);
    if (id.length !== ID_LENGTH)
      throw new InvalidArgumentError(`node id must be ${ID_LENGTH} bytes, got ${id.length}`);
    this.idBytes = asNodeId(id);
    this.tableRef = new RoutingTable(this.idBytes, { k: this.k, ...options.routing }, this.clock.now());
    this.peers = options.peerStore ?? new MemoryPeerStore();
    this.items = options.itemStore ?? new ItemStore(new MemoryItemBackend(), DEFAULT_ITEM_LIMITS);
    this.itemOps = new ItemOperations(this);
    // Every in-flight call listens on the shutdown signal; hundreds at once are normal, not a leak.
    setMaxListeners(0, this.shutdownController.signal);
    this.tokens = new TokenManager(this.clock, this.random, undefined, () =>
      this.events.emit('token:rotated', { rotations: this.tokens.rotations }),
    );
  }

  /** @internal Aborted when the node closes; every call's signal is merged with it. */
  get shutdown(): AbortSignal {
    return this.shutdownController.signal;
  }

  get id(): NodeId {
    return this.idBytes;
  }

  get table(): RoutingTable {
    return this.tableRef;
  }

  /** The bound local address; throws before listen(). */
  get address(): Address {
    if (!this.transport)
      throw new KadmiumError('NOT_LISTENING', 'the node is not listening yet; call listen() or start()');
    return this.transport.address;
  }

  get isBootstrapped(): boolean {
    return this.bootstrapped;
  }

  /** Bind the socket and start serving queries. */
  async listen(): Promise<Address> {
    if (this.closed) throw new ClosedError();
    if (this.transport) return this.transport.address;
    const transport =
      this.options.transport ??
      (await createUdpTransport({ port: this.options.port ?? 0, host: this.options.host ?? '0.0.0.0' }));
    this.transport = transport;
    transport.onError((err) => this.warn('TRANSPORT', err.message));
    const rpc = new Rpc({
      transport,
      clock: this.clock,
      random: this.random,
      events: this.events,
      timeoutMs: this.options.timeoutMs,
      shortTimeoutMs: this.options.shortTimeoutMs,
      version: defaults.CLIENT_VERSION,
      readOnly: this.options.readOnly,
      rateLimit: this.options.rateLimit,
    });
    this.rpc = rpc;
    this.client = new MainlineClient(rpc, () => this.idBytes, {
      replied: (contact, reply) => this.onReplied(contact, reply),
      failed: (to, err) => this.onFailed(to, err),
    });
    if (!this.options.readOnly) {
      rpc.onQuery(
        createServer(rpc, () => this.context(), {
          queried: (id, from) => this.observe({ id, address: from }, false),
          fault: (err, query) => this.warn('HANDLER_FAULT', `${query.method} handler failed: ${String(err)}`),
        }),
      );
    }
    this.maintenance = every(
      this.clock,
      this.options.maintenanceIntervalMs ?? defaults.MAINTENANCE_INTERVAL_MS,
      () => this.maintain(),
    );
    this.events.emit('listening', { address: transport.address });
    return transport.address;
  }

  /**
   * Listen and join the network. Resolves after the first bootstrap round; when no router
   * answered, keeps retrying in the background with backoff (see the `bootstrap` event).
   */
  async start(opts: CallOptions = {}): Promise<BootstrapResult> {
    await this.listen();
    const first = await this.bootstrap(opts);
    if (!first.ok && this.options.bootstrap !== false) this.bootstrapLoop = this.retryBootstrap();
    // Fill the far buckets now rather than at the first 15-minute refresh.
    if (first.ok && (this.options.refreshOnStart ?? true)) this.refresh().catch(() => undefined);
    return first;
  }

  /** One bootstrap round: ask every router (and saved node) for nodes near us, then look up our own id. */
  async bootstrap(opts: CallOptions = {}): Promise<BootstrapResult> {
    const client = this.requireClient();
    const names =
      this.options.bootstrap === false ? [] : (this.options.bootstrap ?? defaults.DEFAULT_BOOTSTRAP);
    const { addresses, problems } = await resolveAll(names, this.options.resolver ?? systemResolver);
    for (const saved of this.options.routingTable?.nodes ?? []) {
      try {
        addresses.push(makeAddress(saved.host, saved.port));
      } catch {
        // A malformed saved entry is skipped; the rest still help.
      }
    }
    for (const node of this.tableRef.nodes()) addresses.push(node.address);
    const unique = [...new Map(addresses.map((a) => [addressKey(a), a])).values()];
    if (unique.length === 0) {
      const message =
        problems.length > 0
          ? `no bootstrap node could be resolved: ${problems.join('; ')}`
          : 'no bootstrap nodes configured';
      return this.reportBootstrap({
        ok: false,
        responded: 0,
        tried: 0,
        tableSize: this.tableRef.size,
        message,
      });
    }
    const d = deadline(
      this.clock,
      opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
      'bootstrap',
      opts.signal,
      this.shutdown,
    );
    try {
      const seeds: Contact[] = [];
      let responded = 0;
      await Promise.all(
        unique.map(async (address) => {
          try {
            const reply = await client.findNode(address, this.idBytes, { signal: d.signal });
            responded++;
            seeds.push({ id: reply.id, address: reply.from }, ...reply.nodes);
          } catch {
            // Counted by `responded`; the summary says how many answered.
          }
        }),
      );
      if (responded === 0) {
        const list = names.length > 0 ? ` (${names.join(', ')})` : '';
        const why = problems.length > 0 ? `; ${problems.join('; ')}` : '';
        return this.reportBootstrap({
          ok: false,
          responded,
          tried: unique.length,
          tableSize: this.tableRef.size,
          message: `none of the ${unique.length} bootstrap node(s) answered${list}${why}`,
        });
      }
      await this.runLookup('bootstrap', this.idBytes, seeds, d.signal, (contact, onSlow) =>
        client.findNode(contact.address, this.idBytes, { signal: d.signal, onSlow }),
      ).catch(() => undefined);
      this.bootstrapped = true;
      return this.reportBootstrap({
        ok: true,
        responded,
        tried: unique.length,
        tableSize: this.tableRef.size,
        message: `joined through ${responded} of ${unique.length} bootstrap node(s); ${this.tableRef.size} nodes in the routing table`,
      });
    } finally {
      d.dispose();
    }
  }

  /**
   * Refresh the buckets holding fewer than K nodes (all but our own, deepest one): one find_node
   * for a random id in each, a few at a time. A node runs this after joining; the 15-minute
   * refresh keeps buckets fresh after that. Resolves with the number of buckets refreshed.
   */
  async refresh(opts: CallOptions = {}): Promise<number> {
    const client = this.requireClient();
    const sparse = this.tableRef
      .describe(this.clock.now())
      .filter((b) => b.index < this.tableRef.bucketCount - 1 && b.nodes < this.k)
      .map((b) => b.index);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sparse.length && !this.closed) {
        const index = sparse[next++] as number;
        const target = randomIdWithPrefix(this.random, this.idBytes, index);
        const d = deadline(
          this.clock,
          opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
          'refresh',
          opts.signal,
          this.shutdown,
        );
        try {
          await this.runLookup('refresh', target, this.seedsFor(target), d.signal, (contact, onSlow) =>
            client.findNode(contact.address, target, { signal: d.signal, onSlow }),
          );
        } catch {
          // An empty or unreachable bucket stays sparse until the next refresh.
        } finally {
          d.dispose();
        }
      }
    };
    await Promise.all(Array.from({ length: defaults.MAX_CONCURRENT_REFRESH }, worker));
    return sparse.length;
  }

  /** Ping one address; resolves with its id and round-trip time. */
  async ping(address: Address, opts: CallOptions = {}): Promise<ReplyBase> {
    const d = deadline(this.clock, opts.timeoutMs, 'ping', opts.signal, this.shutdown);
    try {
      return await this.requireClient().ping(address, { signal: d.signal });
    } finally {
      d.dispose();
    }
  }

  /** The K closest nodes to target that answered, nearest first. */
  async findNode(target: Uint8Array, opts: CallOptions = {}): Promise<Contact[]> {
    this.checkTarget(target, 'target');
    const client = this.requireClient();
    const d = deadline(
      this.clock,
      opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
      'find_node',
      opts.signal,
      this.shutdown,
    );
    try {
      const result = await this.runLookup(
        'find_node',
        target,
        this.seedsFor(target),
        d.signal,
        (contact, onSlow) => client.findNode(contact.address, target, { signal: d.signal, onSlow }),
      );
      return result.closest.map((c) => c.contact);
    } finally {
      d.dispose();
    }
  }

  /**
   * Peers for an infohash, yielded as they arrive (each once). Stopping the iteration early
   * cancels the lookup.
   */
  async *getPeers(infoHash: Uint8Array, opts: CallOptions = {}): AsyncGenerator<Address> {
    this.checkTarget(infoHash, 'infohash');
    const queue = new AsyncQueue<Address>();
    const stop = new AbortController();
    const seen = new Set<string>();
    this.peersLookup(infoHash, { ...opts, signal: anySignal(opts.signal, stop.signal) }, (peers) => {
      for (const peer of peers) {
        const key = addressKey(peer);
        if (seen.has(key)) continue;
        seen.add(key);
        queue.push(peer);
      }
    }).then(
      () => queue.end(),
      (err: unknown) => queue.fail(err),
    );
    try {
      yield* queue;
    } finally {
      stop.abort();
    }
  }

  /** All peers a get_peers lookup finds, when streaming is not needed. */
  async findPeers(infoHash: Uint8Array, opts: CallOptions = {}): Promise<Address[]> {
    const out: Address[] = [];
    for await (const peer of this.getPeers(infoHash, opts)) out.push(peer);
    return out;
  }

  /** Announce that we are a peer for infoHash to the K closest nodes, using their write tokens. */
  async announce(infoHash: Uint8Array, opts: AnnounceOptions = {}): Promise<AnnounceResult> {
    this.checkTarget(infoHash, 'infohash');
    if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535))
      throw new InvalidArgumentError(`port must be 1-65535, got ${opts.port}`);
    const client = this.requireClient();
    const started = this.clock.now();
    const d = deadline(
      this.clock,
      opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
      'announce',
      opts.signal,
      this.shutdown,
    );
    try {
      const peers = new Map<string, Address>();
      const result = await this.peersLookup(infoHash, { signal: d.signal }, (found) => {
        for (const p of found) peers.set(addressKey(p), p);
      });
      const withToken = result.closest.filter((c) => c.result.token !== undefined);
      let announcedTo = 0;
      await Promise.all(
        withToken.map(async ({ contact, result: reply }) => {
          try {
            await client.announcePeer(
              contact.address,
              { infoHash, port: opts.port, token: reply.token as Uint8Array, seed: opts.seed ?? false },
              { signal: d.signal },
            );
            announcedTo++;
          } catch {
            // A node that refuses (stale token, gone) just does not count.
          }
        }),
      );
      this.events.emit('lookup:finished', {
        kind: 'announce',
        target: infoHash,
        durationMs: this.clock.now() - started,
        queried: result.queried + withToken.length,
        responded: result.responded,
        failed: result.failed,
        hops: result.hops,
        found: announcedTo,
        ok: announcedTo > 0,
      });
      return { announcedTo, candidates: withToken.length, peers: [...peers.values()] };
    } finally {
      d.dispose();
    }
  }

  /** BEP 44: store an immutable item on the K closest nodes; its target is SHA-1 of bencoded v. */
  putImmutable(v: BValue, opts?: ItemCallOptions & { republish?: boolean }): Promise<PutResult> {
    return this.itemOps.putImmutable(v, opts);
  }

  /**
   * BEP 44: sign and store a mutable item. Without `seq`, reads the network's latest seq first and
   * publishes one above it; conflicts throw SeqConflictError or CasMismatchError saying what to do.
   */
  putMutable(opts: MutablePutOptions): Promise<PutResult> {
    return this.itemOps.putMutable(opts);
  }

  /** BEP 44: the verified item with the highest seq the K closest nodes hold, or undefined. */
  get(target: Uint8Array, opts?: ItemGetOptions): Promise<GetResult | undefined> {
    this.checkTarget(target, 'target');
    return this.itemOps.get(target, opts);
  }

  /** The routing table as plain JSON, to save and pass back as `routingTable` on restart. */
  exportRoutingTable(): ExportedTable {
    return this.tableRef.export(idToHex);
  }

  /** Counters for status displays and metrics. */
  stats(): {
    id: string;
    address: Address | undefined;
    bootstrapped: boolean;
    routingTable: { size: number; buckets: number };
    inFlight: number;
    rpc: ReturnType<Rpc['stats']['snapshot']> | undefined;
    tokenRotations: number;
  } {
    return {
      id: idToHex(this.idBytes),
      address: this.transport?.address,
      bootstrapped: this.bootstrapped,
      routingTable: { size: this.tableRef.size, buckets: this.tableRef.bucketCount },
      inFlight: this.rpc?.inFlight ?? 0,
      rpc: this.rpc?.stats.snapshot(),
      tokenRotations: this.tokens.rotations,
    };
  }

  /** Stop everything: in-flight calls reject with ClosedError, the socket closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdownController.abort(new ClosedError());
    this.maintenance?.cancel();
    this.itemOps.close();
    await this.rpc?.close();
    await this.bootstrapLoop?.catch(() => undefined);
    this.events.emit('close', {});
  }

  // ------------------------------------------------------------------------------------------

  /** @internal */
  requireClient(): MainlineClient {
    if (this.closed) throw new ClosedError();
    if (!this.client)
      throw new KadmiumError('NOT_LISTENING', 'the node is not listening yet; call listen() or start()');
    return this.client;
  }

  private checkTarget(target: Uint8Array, what: string): void {
    if (!(target instanceof Uint8Array) || target.length !== ID_LENGTH)
      throw new InvalidArgumentError(`${what} must be ${ID_LENGTH} bytes (40 hex characters)`);
  }

  private context(): HandlerContext {
    this.handlerContext ??= {
      localId: this.idBytes,
      table: this.tableRef,
      tokens: this.tokens,
      peers: this.peers,
      items: this.items,
      fullNode: this.options.fullNode ?? false,
      clock: this.clock,
      k: this.k,
      maxValues: { v4: 100, v6: 45 },
      onAnnounce: (infoHash, peer, seed) => {
        if (this.events.has('peer:stored')) this.events.emit('peer:stored', { infoHash, peer, seed });
      },
      onItemStored: (item, from) => {
        if (this.events.has('item:stored'))
          this.events.emit('item:stored', {
            target: item.target,
            mutable: item.k !== undefined,
            seq: item.seq,
            from,
          });
      },
    };
    return this.handlerContext;
  }

  /** @internal */
  seedsFor(target: Uint8Array): Contact[] {
    return this.tableRef.closest(target, this.k * 2);
  }

  private async peersLookup(
    infoHash: Uint8Array,
    opts: CallOptions,
    onPeers: (peers: Address[]) => void,
  ): Promise<PeersLookup> {
    const client = this.requireClient();
    const d = deadline(
      this.clock,
      opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
      'get_peers',
      opts.signal,
      this.shutdown,
    );
    try {
      return await this.runLookup(
        'get_peers',
        infoHash,
        this.seedsFor(infoHash),
        d.signal,
        (contact, onSlow) => client.getPeers(contact.address, infoHash, { signal: d.signal, onSlow }),
        (reply) => {
          if (reply.values.length > 0) onPeers(reply.values);
        },
      );
    } finally {
      d.dispose();
    }
  }

  /** @internal */
  async runLookup<R extends { nodes: Contact[]; id: Uint8Array }>(
    kind: LookupKind,
    target: Uint8Array,
    seeds: Contact[],
    signal: AbortSignal,
    ask: (contact: Contact, onSlow: () => void) => Promise<R>,
    onReply?: (reply: R) => void,
  ): Promise<LookupResult<R>> {
    const started = this.clock.now();
    if (seeds.length === 0) {
      throw new KadmiumError(
        'NO_NODES',
        'the routing table is empty: bootstrap first (check --bootstrap and that the routers are reachable)',
      );
    }
    const result = await lookup<R>({
      target,
      seeds,
      k: this.k,
      alpha: this.alpha,
      signal,
      query: async (contact, onSlow): Promise<LookupReply<R>> => {
        const reply = await ask(contact, onSlow);
        if (!bytesEqual(reply.id, contact.id)) {
          // Another node now answers at that address (a restart, NAT rebinding, a reused port):
          // its referrals lead elsewhere, and the contact we knew is gone.
          const err = new BadReplyError(
            `${addressKey(contact.address)} answered as ${idToHex(reply.id)}, not ${idToHex(contact.id)}`,
          );
          this.onFailed(contact.address, err);
          throw err;
        }
        return { nodes: reply.nodes, result: reply };
      },
      onReply: onReply ? (_contact, reply) => onReply(reply) : undefined,
    });
    this.tableRef.touchBucket(this.tableRef.bucketIndex(target), this.clock.now());
    if (kind !== 'announce') {
      this.events.emit('lookup:finished', {
        kind,
        target,
        durationMs: this.clock.now() - started,
        queried: result.queried,
        responded: result.responded,
        failed: result.failed,
        hops: result.hops,
        found: result.closest.length,
        ok: result.closest.length > 0,
      });
    }
    return result;
  }

  private onReplied(contact: Contact, _reply: ReplyBase): void {
    this.observe(contact, true);
  }

  private onFailed(to: Address, err: unknown): void {
    // Only silence and nonsense count against a node; an error reply proves it is alive.
    if (!(err instanceof TimeoutError) && !(err instanceof KadmiumError && err.code === 'BAD_REPLY')) return;
    const node = this.tableRef.getByAddress(to);
    if (!node) return;
    const outcome = this.tableRef.failed(node.id);
    if (outcome) {
      this.events.emit('node:evicted', {
        id: outcome.removed.id,
        address: outcome.removed.address,
        reason: 'failed',
      });
      if (outcome.promoted) {
        const p = outcome.promoted;
        this.events.emit('node:added', {
          id: p.id,
          address: p.address,
          bucket: this.tableRef.bucketIndex(p.id),
        });
      }
    }
  }

  private observe(contact: Contact, responded: boolean): void {
    const result: ObserveResult = this.tableRef.observe(contact, responded, this.clock.now());
    if (result.action === 'added') {
      if (result.replaced) {
        const r = result.replaced;
        this.events.emit('node:evicted', { id: r.id, address: r.address, reason: 'bad' });
      }
      if (this.events.has('node:added'))
        this.events.emit('node:added', { id: contact.id, address: contact.address, bucket: result.bucket });
      // A node that only queried us is unverified (maybe behind NAT): one ping tells.
      if (!responded) this.pingNode(contact);
    } else if (result.action === 'cached' && result.ping) {
      this.pingNode(result.ping);
    }
  }

  /**
   * Ping a node whose state is in doubt: a newcomer that only queried us, or (BEP 5) a
   * questionable node in a full bucket, whose silence makes room for a cached replacement.
   */
  private pingNode(node: Contact): void {
    const key = addressKey(node.address);
    if (this.pinging.has(key) || !this.client) return;
    this.pinging.add(key);
    this.client
      .ping(node.address, { signal: this.shutdown })
      .catch(() => undefined)
      .finally(() => this.pinging.delete(key));
  }

  private maintain(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.peers
      .expire(now)
      .catch((err: unknown) => this.warn('STORAGE', `peer expiry failed: ${String(err)}`));
    if (!this.client) return;
    if (this.tableRef.size === 0) return;
    for (const index of this.tableRef.staleBuckets(now)) {
      if (this.refreshing >= defaults.MAX_CONCURRENT_REFRESH) break;
      const target = randomIdWithPrefix(this.random, this.idBytes, index);
      this.tableRef.touchBucket(index, now);
      this.refreshing++;
      const client = this.client;
      const d = deadline(this.clock, defaults.LOOKUP_TIMEOUT_MS, 'refresh', this.shutdown);
      this.runLookup('refresh', target, this.seedsFor(target), d.signal, (contact, onSlow) =>
        client.findNode(contact.address, target, { signal: d.signal, onSlow }),
      )
        .catch(() => undefined)
        .finally(() => {
          d.dispose();
          this.refreshing--;
        });
    }
  }

  private async retryBootstrap(): Promise<void> {
    let waitMs = defaults.BOOTSTRAP_RETRY_MIN_MS;
    while (!this.closed && !this.bootstrapped) {
      this.warn('BOOTSTRAP_RETRY', `retrying bootstrap in ${Math.round(waitMs / 1000)} s`);
      try {
        await sleep(this.clock, waitMs, this.shutdown);
      } catch {
        return;
      }
      waitMs = Math.min(waitMs * 2, defaults.BOOTSTRAP_RETRY_MAX_MS);
      const result = await this.bootstrap().catch(() => undefined);
      if (result?.ok) return;
    }
  }

  private reportBootstrap(result: BootstrapResult): BootstrapResult {
    this.events.emit('bootstrap', { ...result });
    return result;
  }

  /** @internal */
  warn(code: string, message: string): void {
    this.events.emit('warning', { code, message });
  }
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 1 ? (present[0] as AbortSignal) : AbortSignal.any(present);
}
