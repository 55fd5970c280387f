/**
 * `kadmium router`: a bootstrap service like router.bittorrent.com or libtorrent's dht-bootstrap.
 * It answers ping, find_node and get_peers with nodes only, refuses everything that would store
 * something, and keeps a large table of contacts it has verified itself (they answered its ping).
 *
 * It is stateless on purpose: nothing is written anywhere, so any number of routers can run
 * behind one address or DNS name, be killed and restarted at will, and refill from each other
 * (each lists the others in `bootstrap`) or from the nodes that query them. See docs/ROUTER.md.
 *
 * Built from the node's pieces: the same sockets, RPC engine, client, server and handlers (with
 * the router's method table), over a ShardedTable of ordinary routing tables.
 */
import { type NodeId, randomNodeId } from '../kademlia/id.js';
import type { Contact, RoutingTableOptions } from '../kademlia/routing-table.js';
import { MainlineClient } from '../protocols/mainline/client.js';
import { type HandlerContext, routerHandlers } from '../protocols/mainline/handlers/index.js';
import { ID_LENGTH } from '../protocols/mainline/messages.js';
import { createServer } from '../protocols/mainline/server.js';
import { TokenManager } from '../protocols/mainline/tokens.js';
import type { RateLimitOptions } from '../rpc/rate-limit.js';
import { Rpc } from '../rpc/rpc.js';
import { DEFAULT_ITEM_LIMITS, ItemStore, MemoryItemBackend } from '../storage/item-store.js';
import { MemoryPeerStore } from '../storage/peer-store.js';
import { type Address, addressKey } from '../transport/address.js';
import type { Transport } from '../transport/transport.js';
import { type Clock, every, systemClock, type Timer } from '../util/clock.js';
import { ClosedError, KadmiumError } from '../util/errors.js';
import { type Random, systemRandom } from '../util/random.js';
import * as defaults from './defaults.js';
import { type Resolver, resolveAll, systemResolver } from './resolve.js';
import { DEFAULT_SHARD_BITS, ShardedTable } from './router-table.js';
import { bindTransports } from './sockets.js';

/** Contacts waiting for a verifying ping; more are dropped (they will query again). */
export const MAX_VERIFY_QUEUE = 20_000;
/** Verifying pings sent per second: the router's only steady outbound traffic. */
export const DEFAULT_VERIFY_PER_SECOND = 200;
/** How often the verify queue is drained (a tenth of a second's quota each time). */
const VERIFY_TICK_MS = 100;
/** How often the router asks its peers and its table for nodes in its sparsest regions. */
export const REFRESH_INTERVAL_MS = 60_000;
/** find_node queries per refresh round. */
const REFRESH_QUERIES = 16;
/** Replies carry this many nodes (BEP 5's K), whatever the table's bucket size. */
const REPLY_K = 8;

export interface RouterOptions {
  /** UDP port (0 = any free port). */
  port?: number;
  /** Address to bind; default 0.0.0.0. IPv4 only for now. */
  host?: string;
  transport?: Transport;
  /** Other routers (or any nodes) to seed from, "host:port"; several routers list each other. */
  bootstrap?: readonly string[];
  /** 2^shardBits tables; see router-table.ts. */
  shardBits?: number;
  /** Bucket size of each table (more = more contacts per region, same cost per query). */
  k?: number;
  routing?: RoutingTableOptions;
  verifyPerSecond?: number;
  rateLimit?: RateLimitOptions | false;
  refreshIntervalMs?: number;
  id?: Uint8Array;
  clock?: Clock;
  random?: Random;
  resolver?: Resolver;
}

export interface RouterStats {
  contacts: number;
  /** Contacts that answered our ping: the only ones handed out. */
  verified: number;
  verifyQueue: number;
  queries: { ping: number; find_node: number; get_peers: number; refused: number };
  pingsSent: number;
}

export class Router {
  readonly clock: Clock;
  readonly random: Random;
  readonly id: NodeId;
  readonly table: ShardedTable;
  private transport: Transport | undefined;
  private rpc: Rpc | undefined;
  private client: MainlineClient | undefined;
  private readonly verifyQueue: Contact[] = [];
  private readonly queued = new Set<string>();
  private readonly timers: Timer[] = [];
  private readonly counts = { ping: 0, find_node: 0, get_peers: 0, refused: 0 };
  private pingsSent = 0;
  private closed = false;
  private readonly context: HandlerContext;

  constructor(private readonly options: RouterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.id = options.id ? (options.id as NodeId) : randomNodeId(this.random, ID_LENGTH);
    this.table = new ShardedTable(
      ID_LENGTH,
      options.shardBits ?? DEFAULT_SHARD_BITS,
      { k: options.k ?? REPLY_K, ...options.routing },
      this.random,
      this.clock.now(),
    );
    // The router's handlers read only the id and the table; the stores stay empty (the type
    // wants them, and the full node's handlers that would write to them are not registered).
    this.context = {
      localId: this.id,
      table: this.table,
      tokens: new TokenManager(this.clock, this.random),
      peers: new MemoryPeerStore(),
      items: new ItemStore(new MemoryItemBackend(), DEFAULT_ITEM_LIMITS),
      fullNode: false,
      clock: this.clock,
      k: REPLY_K,
      maxValues: { v4: 0, v6: 0 },
    };
  }

  get address(): Address {
    if (!this.transport)
      throw new KadmiumError('NOT_LISTENING', 'the router is not listening yet; call listen()');
    return this.transport.address;
  }

  async listen(): Promise<Address> {
    if (this.closed) throw new ClosedError();
    if (this.transport) return this.transport.address;
    const { transport } = await bindTransports({ ...this.options, ipv6: false });
    this.transport = transport;
    const rpc = new Rpc({
      transport,
      clock: this.clock,
      random: this.random,
      version: defaults.CLIENT_VERSION,
      rateLimit: this.options.rateLimit,
    });
    this.rpc = rpc;
    this.client = new MainlineClient(rpc, () => this.id, {
      replied: (contact) => void this.table.observe(contact, true, this.clock.now()),
      failed: () => undefined,
    });
    const serve = createServer(
      rpc,
      () => this.context,
      { queried: (id, from) => this.learn({ id, address: from }), fault: () => undefined },
      routerHandlers,
    );
    rpc.onQuery((q, from) => {
      if (q.q === 'ping' || q.q === 'find_node' || q.q === 'get_peers') this.counts[q.q]++;
      else this.counts.refused++;
      serve(q, from);
    });
    const perSecond = this.options.verifyPerSecond ?? DEFAULT_VERIFY_PER_SECOND;
    const perTick = Math.max(1, Math.round((perSecond * VERIFY_TICK_MS) / 1000));
    this.timers.push(every(this.clock, VERIFY_TICK_MS, () => this.verify(perTick)));
    this.timers.push(
      every(this.clock, this.options.refreshIntervalMs ?? REFRESH_INTERVAL_MS, () => void this.refresh()),
    );
    return transport.address;
  }

  /**
   * Ask every bootstrap peer for nodes in `rounds` random regions; the nodes they return are
   * verified before we hand them out. Returns how many peers answered at least once.
   */
  async seed(rounds = REFRESH_QUERIES): Promise<{ responded: number; tried: number; problems: string[] }> {
    const client = this.requireClient();
    const { addresses, problems } = await resolveAll(
      this.options.bootstrap ?? [],
      this.options.resolver ?? systemResolver,
    );
    const v4 = addresses.filter((a) => a.family === 4);
    let responded = 0;
    await Promise.all(
      v4.map(async (to) => {
        let ok = false;
        for (let i = 0; i < rounds && !this.closed; i++) {
          const target = this.table.targetIn(
            this.random.int(this.table.shards.length),
            this.random,
            ID_LENGTH,
          );
          try {
            const reply = await client.findNode(to, target);
            ok = true;
            for (const c of reply.nodes) this.learn(c);
          } catch {
            break; // a silent peer: try it again at the next refresh
          }
        }
        if (ok) responded++;
      }),
    );
    return { responded, tried: v4.length, problems };
  }

  stats(): RouterStats {
    let verified = 0;
    for (const t of this.table.shards) for (const n of t.nodes()) if (n.lastResponseAt >= 0) verified++;
    return {
      contacts: this.table.size,
      verified,
      verifyQueue: this.verifyQueue.length,
      queries: { ...this.counts },
      pingsSent: this.pingsSent,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) t.cancel();
    await this.rpc?.close();
  }

  // ------------------------------------------------------------------------------------------

  private requireClient(): MainlineClient {
    if (this.closed) throw new ClosedError();
    if (!this.client)
      throw new KadmiumError('NOT_LISTENING', 'the router is not listening yet; call listen()');
    return this.client;
  }

  /** A contact we heard of (it queried us, or a reply named it): keep it, and verify it. */
  private learn(contact: Contact): void {
    const result = this.table.observe(contact, false, this.clock.now());
    const toPing = result.action === 'added' ? contact : result.action === 'cached' ? result.ping : undefined;
    if (!toPing || this.verifyQueue.length >= MAX_VERIFY_QUEUE) return;
    const key = addressKey(toPing.address);
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.verifyQueue.push(toPing);
  }

  private verify(budget: number): void {
    const client = this.client;
    if (!client || this.closed) return;
    for (let i = 0; i < budget; i++) {
      const c = this.verifyQueue.shift();
      if (!c) return;
      this.queued.delete(addressKey(c.address));
      this.pingsSent++;
      // An answer enters the table as verified (client hook); silence counts against the node.
      client.ping(c.address).catch(() => this.table.failed(c.id));
    }
  }

  /** Fill the sparsest regions: ask peers, and verified contacts there, for nodes in them. */
  private async refresh(): Promise<void> {
    if (this.closed) return;
    await this.seed(1).catch(() => undefined);
    const client = this.client;
    if (!client) return;
    const sparse = this.table.shards
      .map((t, s) => ({ s, size: t.size }))
      .sort((a, b) => a.size - b.size)
      .slice(0, REFRESH_QUERIES);
    await Promise.all(
      sparse.map(async ({ s }) => {
        const target = this.table.targetIn(s, this.random, ID_LENGTH);
        const [near] = this.table.closest(target, 1, { answered: true });
        if (!near) return;
        const reply = await client.findNode(near.address, target).catch(() => undefined);
        for (const c of reply?.nodes ?? []) this.learn(c);
      }),
    );
  }
}
