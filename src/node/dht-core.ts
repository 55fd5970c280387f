/**
 * The node's machinery under the Dht API: sockets, RPC, BEP 32 routing tables, BEP 42 identity,
 * handlers' context, upkeep and bootstrap. Dht (dht.ts) adds the queries on top; helpers its
 * methods use are protected here.
 */
import { setMaxListeners } from 'node:events';
import { asNodeId, idToHex, type NodeId, nodeIdFromHex, randomNodeId } from '../kademlia/id.js';
import type { LookupResult } from '../kademlia/lookup.js';
import { Reputation } from '../kademlia/reputation.js';
import { ContactBreakers } from '../kademlia/contact-breaker.js';
import { FeatureBreakers } from './feature-breakers.js';
import type { Contact, ExportedTable, RoutingTable } from '../kademlia/routing-table.js';
import { MainlineClient, type ReplyBase } from '../protocols/mainline/client.js';
import { type HandlerContext, METHODS } from '../protocols/mainline/handlers/index.js';
import { ID_LENGTH } from '../protocols/mainline/messages.js';
import { InfohashSampler } from '../protocols/mainline/sampler.js';
import { isTrustedId, type SecureIdMode } from '../protocols/mainline/secure-id.js';
import { createServer } from '../protocols/mainline/server.js';
import { TokenManager } from '../protocols/mainline/tokens.js';
import { TokenReplayGuard } from '../protocols/mainline/token-replay.js';
import { StunClient } from '../protocols/stun/client.js';
import { looksLikeStun } from '../protocols/stun/message.js';
import { rateLimitKey } from '../rpc/rate-limit.js';
import { Rpc } from '../rpc/rpc.js';
import { DEFAULT_ITEM_LIMITS, ItemStore, MemoryItemBackend } from '../storage/item-store.js';
import { MemoryPeerStore, type PeerStore } from '../storage/peer-store.js';
import { type Address, addressKey, type Family } from '../transport/address.js';
import { localAddressOf, transportFamilies } from '../transport/dual.js';
import { SplitTransport } from '../transport/split.js';
import type { Transport } from '../transport/transport.js';
import { deadline } from '../util/abort.js';
import { type Clock, every, systemClock, type Timer } from '../util/clock.js';
import { ClosedError, InvalidArgumentError, KadmiumError, TimeoutError } from '../util/errors.js';
import { EventBus } from '../util/events.js';
import { type Random, systemRandom } from '../util/random.js';
import { type BootstrapHost, bootstrapRound, retryWithBackoff } from './bootstrap.js';
import * as defaults from './defaults.js';
import type { DhtEvents, LookupKind } from './events.js';
import { EXTERNAL_IP_FEATURE, ExternalIpVoter, rederivedId } from './external-ip.js';
import { ItemOperations } from './items.js';
import { Healer } from './healing.js';
import { LatencyRouting } from './latency.js';
import { alphaUnder, type PressureLevel } from './budget.js';
import { type LookupHost, runLookup, seedsFor } from './lookups.js';
import { Maintenance, type MaintenanceHost } from './maintenance.js';
import type { BootstrapResult, CallOptions, DhtOptions } from './options.js';
import { bindTransports, givenTransports } from './sockets.js';
import type { Resolver } from './resolve.js';
import { type NatReport, STUN_FEATURE } from './nat.js';
import { Puncher } from './punch.js';
import { NodeRelay } from './relay.js';
import { RELAY_CLIENT_FEATURE, RelayClient } from './relay-client.js';
import { RELAY_SERVER_FEATURE, RelayServer } from './relay-server.js';
import { looksLikeRelayFrame } from '../wire/relay-frame.js';
import { NodeTables } from './tables.js';

/** More disjoint paths than this cost messages without adding safety at k = 8 (docs/SECURITY.md). */
export const MAX_LOOKUP_PATHS = 16;
/** How often a node with shared token secrets fetches them (an epoch is 5 minutes). */
export const TOKEN_SECRET_REFRESH_MS = 30_000;

export abstract class DhtCore implements LookupHost {
  readonly events = new EventBus<DhtEvents>();
  readonly k: number;
  readonly alpha: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  /** BEP 42 enforcement level. */
  readonly secureIds: SecureIdMode;
  protected idBytes: NodeId;
  /** True when the caller chose our id: BEP 42 never replaces it. */
  protected readonly idPinned: boolean;
  protected transport: Transport | undefined;
  protected rpc: Rpc | undefined;
  protected client: MainlineClient | undefined;
  protected nodeTables: NodeTables;
  protected readonly tokens: TokenManager;
  /** One port per announce token and infohash (DhtOptions.tokenReplay, default on). */
  protected readonly replay: TokenReplayGuard | undefined;
  protected readonly sampler: InfohashSampler;
  protected readonly voter = new ExternalIpVoter();
  protected readonly shutdownController = new AbortController();
  protected readonly itemOps: ItemOperations;
  protected maintenance: Timer | undefined;
  protected secretRefresh: Timer | undefined;
  protected readonly upkeep: Maintenance;
  /** What bootstrap, lookups and upkeep see of this node. */
  protected readonly host: BootstrapHost & MaintenanceHost;
  protected bootstrapLoop: Promise<void> | undefined;
  protected bootstrapped = false;
  protected closed = false;
  protected handlerContext: HandlerContext | undefined;
  /** STUN/TURN over the DHT's own socket (their mappings are the ones that matter). */
  protected stun: StunClient | undefined;
  /** NAT hole punching: ours, introduced ones, and introductions as a rendezvous. */
  protected puncher: Puncher | undefined;
  /** A TURN allocation, once dht.allocateRelay() made one. */
  protected relay: NodeRelay | undefined;
  /** Circuits through relaying DHT nodes (ours), and the ones we carry when `relay: true`. */
  protected relayClient: RelayClient | undefined;
  protected relayServer: RelayServer | undefined;
  /** The last NAT discovery, when one ran. */
  protected lastNat: NatReport | undefined;
  /** Families we have sockets for (before listen: v4, as the tables are built for). */
  families: Family[] = [4];
  readonly prefer: ((c: Contact) => boolean) | undefined;
  /** Disjoint paths for get_peers / announce / BEP 44 lookups (DhtOptions.lookupPaths). */
  readonly lookupPaths: number;
  /** Per-contact reputation (DhtOptions.reputation), or undefined when off. */
  readonly reputation: Reputation | undefined;
  /** Contacts skipped for a back-off after repeated timeouts (kademlia/contact-breaker.ts). */
  readonly contactBreakers = new ContactBreakers();
  /** Per-contact RTTs and the latency techniques in use. */
  readonly latency: LatencyRouting;
  /** Optional features switched off for a back-off when they throw (node/feature-breakers.ts). */
  readonly features: FeatureBreakers;
  /** @internal Notices a lost table and rejoins (node/healing.ts). */
  readonly healer = new Healer();
  private healing = false;

  /** @internal Items are cached along lookup paths (node/path-cache.ts). */
  get pathCache(): boolean {
    return this.latency.has('path-cache') && this.pressure === 0;
  }

  /** Resource pressure (node/budget.ts), set by setResourcePressure. */
  protected pressure: PressureLevel = 0;

  /** Queries in flight once a lookup converged: the rest of the K at once (`converged-width`). */
  get convergedWidth(): number | undefined {
    return this.latency.has('converged-width') && this.pressure === 0 ? this.k : undefined;
  }

  /** Lookup parallelism now: alpha, one less under pressure, 1 under severe pressure. */
  get lookupAlpha(): number {
    return alphaUnder(this.pressure, this.alpha);
  }

  constructor(protected readonly options: DhtOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.features = new FeatureBreakers(this.clock, (change) => this.events.emit('feature', change));
    this.k = options.k ?? 8;
    this.alpha = options.alpha ?? defaults.DEFAULT_ALPHA;
    if (!Number.isInteger(this.k) || this.k < 1)
      throw new InvalidArgumentError(`k must be a positive integer, got ${this.k}`);
    if (!Number.isInteger(this.alpha) || this.alpha < 1)
      throw new InvalidArgumentError(`alpha must be a positive integer, got ${this.alpha}`);
    this.lookupPaths = options.lookupPaths ?? 1;
    if (!Number.isInteger(this.lookupPaths) || this.lookupPaths < 1 || this.lookupPaths > MAX_LOOKUP_PATHS)
      throw new InvalidArgumentError(
        `lookupPaths must be an integer 1-${MAX_LOOKUP_PATHS}, got ${this.lookupPaths}`,
      );
    this.reputation = options.reputation ? new Reputation() : undefined;
    this.latency = new LatencyRouting(options.latency, options.shortTimeoutMs);
    this.secureIds = options.secureIds ?? 'prefer';
    if (!['off', 'prefer', 'require'].includes(this.secureIds))
      throw new InvalidArgumentError(
        `secureIds must be off, prefer or require, got ${String(this.secureIds)}`,
      );
    const saved = options.routingTable ? nodeIdFromHex(options.routingTable.id, ID_LENGTH) : undefined;
    const id = options.id ?? saved ?? randomNodeId(this.random, ID_LENGTH);
    if (id.length !== ID_LENGTH)
      throw new InvalidArgumentError(`node id must be ${ID_LENGTH} bytes, got ${id.length}`);
    this.idBytes = asNodeId(id);
    this.idPinned = options.id !== undefined;
    this.prefer = this.secureIds === 'off' ? undefined : (c) => isTrustedId(c.id, c.address.host);
    this.nodeTables = this.makeTables(options.transport6 !== undefined);
    this.peers = options.peerStore ?? new MemoryPeerStore();
    this.items = options.itemStore ?? new ItemStore(new MemoryItemBackend(), DEFAULT_ITEM_LIMITS);
    this.tokens = new TokenManager(this.clock, this.random, undefined, () =>
      this.events.emit('token:rotated', { rotations: this.tokens.rotations }),
    );
    this.replay = (options.tokenReplay ?? true) ? new TokenReplayGuard(this.clock) : undefined;
    this.sampler = new InfohashSampler(this.peers, this.clock, this.random, options.sampleIntervalS);
    this.host = new NodeHost(this, this.shutdown, options);
    this.upkeep = new Maintenance(this.host);
    this.itemOps = new ItemOperations(this);
    // Every in-flight call listens on the shutdown signal; hundreds at once are normal, not a leak.
    setMaxListeners(0, this.shutdownController.signal);
  }

  /** @internal Aborted when the node closes; every call's signal is merged with it. */
  get shutdown(): AbortSignal {
    return this.shutdownController.signal;
  }

  get id(): NodeId {
    return this.idBytes;
  }

  /** The IPv4 routing table (the only one on a v4-only node). */
  get table(): RoutingTable {
    return this.nodeTables.v4;
  }

  /** BEP 32: the IPv6 routing table, on a dual-stack or v6 node. */
  get table6(): RoutingTable | undefined {
    return this.nodeTables.v6;
  }

  /** Both tables behind one API. */
  tables(): NodeTables {
    return this.nodeTables;
  }

  /** The bound local address (IPv4 on a dual-stack node); throws before listen(). */
  get address(): Address {
    if (!this.transport)
      throw new KadmiumError('NOT_LISTENING', 'the node is not listening yet; call listen() or start()');
    return this.transport.address;
  }

  /** BEP 32: the bound IPv6 address, when the node has a v6 socket. */
  get address6(): Address | undefined {
    return this.transport ? localAddressOf(this.transport, 6) : undefined;
  }

  /** BEP 42: the external address the network reports for us, per family, once agreed. */
  externalIp(family: Family = 4): string | undefined {
    return this.voter.get(family);
  }

  get isBootstrapped(): boolean {
    return this.bootstrapped;
  }

  /** Bind the socket(s) and start serving queries. */
  async listen(): Promise<Address> {
    if (this.closed) throw new ClosedError();
    if (this.transport) return this.transport.address;
    // A given transport is used at once: callers (the simulator) may query right after listen().
    const bound = givenTransports(this.options) ?? (await bindTransports(this.options));
    const transport = bound.transport;
    this.transport = transport;
    if (bound.v6Problem) this.warn('NO_IPV6', `running IPv4 only: ${bound.v6Problem}`);
    const fam = transportFamilies(transport);
    this.families = [...(fam.n4 ? [4 as const] : []), ...(fam.n6 ? [6 as const] : [])];
    if (fam.n6 && !this.nodeTables.v6) this.nodeTables = this.makeTables(true);
    transport.onError((err) => this.warn('TRANSPORT', err.message));
    // Relay frames first (they carry any payload), then STUN beside KRPC.
    const frames = new SplitTransport(transport, looksLikeRelayFrame);
    const split = new SplitTransport(frames, looksLikeStun);
    const stun = new StunClient((data, to) => transport.send(data, to), this.clock, this.random);
    // STUN and TURN replies run on the socket's receive path: a throw there would end the process.
    split.onSide(this.features.guard(STUN_FEATURE, (data, from) => stun.receive(data, from)));
    this.stun = stun;
    this.relay = new NodeRelay(split, stun, this.clock, this.shutdown, (m) => this.warn('TURN', m));
    const rpc = new Rpc({
      transport: split,
      clock: this.clock,
      random: this.random,
      events: this.events,
      timeoutMs: this.options.timeoutMs,
      shortTimeoutMs: this.options.shortTimeoutMs,
      version: defaults.CLIENT_VERSION,
      readOnly: this.options.readOnly,
      rateLimit: this.options.rateLimit,
      rateLimitLoopback: this.options.rateLimitLoopback ?? false,
      knownMethods: METHODS,
      shortTimeoutFor: this.latency.shortTimeoutFor,
      onRtt: (from, rttMs) => {
        this.latency.rtt.observe(from, rttMs);
        this.latency.failures?.rtt(from, rttMs, this.clock.now());
      },
      onLimited: (key) => {
        // A flooding source is not one to hand out to others. Only the rare case (it had
        // contacts here) is worth a warning: a wide flood would otherwise flood the log too.
        const removed = this.nodeTables.forgetSource(key, rateLimitKey);
        if (removed > 0) this.warn('FLOOD', `rate-limiting ${key}; removed its ${removed} contact(s)`);
      },
    });
    this.rpc = rpc;
    const relayClient = new RelayClient(
      split,
      () => rpc,
      () => this.idBytes,
      this.clock,
      this.shutdown,
    );
    this.relayClient = relayClient;
    frames.onSide((data, from) => {
      if (this.features.run(RELAY_CLIENT_FEATURE, () => relayClient.receive(data, from), false)) return;
      const server = this.relayServer;
      if (server) this.features.run(RELAY_SERVER_FEATURE, () => server.forward(data, from), undefined);
    });
    // Every datagram the node sends asks the relays (TURN, then relaying nodes) first: a throw
    // there would fail every send. Off, datagrams go direct, as on a node that never used a relay.
    const routed = split.route;
    split.route = (data, to) =>
      this.features.run(RELAY_CLIENT_FEATURE, () => routed?.(data, to) ?? false, false);
    this.puncher = new Puncher(
      () => rpc,
      () => this.requireClient(),
      () => this.idBytes,
      this.relay,
      this.clock,
      this.shutdown,
      {
        punched: (e) => this.events.emit('nat:punched', e),
        failed: (e) => this.events.emit('nat:punch-failed', e),
      },
    );
    this.puncher.nodeRelay = relayClient;
    const puncher = this.puncher;
    if (this.options.relay && !this.options.readOnly)
      this.relayServer = new RelayServer(
        () => rpc,
        () => this.idBytes,
        (wanted) => puncher.inTouch(wanted),
        (data, to) => frames.send(data, to),
        this.clock,
        this.shutdown,
      );
    this.client = new MainlineClient(
      rpc,
      () => this.idBytes,
      {
        replied: (contact, reply) => this.onReplied(contact, reply),
        failed: (to, err) => this.onFailed(to, err),
      },
      fam,
    );
    if (!this.options.readOnly) {
      rpc.onQuery(
        createServer(
          rpc,
          () => this.context(),
          {
            queried: (id, from) => this.onQueried(id, from),
            fault: (err, query) =>
              this.warn('HANDLER_FAULT', `${query.method} handler failed: ${String(err)}`),
          },
          this.options.handlers,
        ),
      );
    }
    this.maintenance = every(
      this.clock,
      this.options.maintenanceIntervalMs ?? defaults.MAINTENANCE_INTERVAL_MS,
      () => {
        if (this.closed) return;
        this.upkeep.run(this.client);
        this.heal();
      },
    );
    if (this.options.tokenSecrets) {
      await this.refreshTokenSecrets();
      this.secretRefresh = every(this.clock, TOKEN_SECRET_REFRESH_MS, () => {
        if (!this.closed) void this.refreshTokenSecrets();
      });
    }
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
    if (!first.ok && this.options.bootstrap !== false) {
      this.bootstrapLoop = retryWithBackoff(
        this.clock,
        this.shutdown,
        () => this.closed || this.bootstrapped,
        async () => (await this.bootstrap()).ok,
        (message) => this.warn('BOOTSTRAP_RETRY', message),
      );
    }
    // Fill the farthest sparse buckets now rather than at the first 15-minute refresh. Only a
    // few: a full refresh per joining node quadrupled traffic under churn (simulator, 10k nodes).
    if (first.ok && (this.options.refreshOnStart ?? true))
      this.refresh({ maxBuckets: defaults.POST_JOIN_REFRESH_BUCKETS }).catch(() => undefined);
    return first;
  }

  /**
   * Fetch the shared token secrets for the current epoch (DhtOptions.tokenSecrets). False, with a
   * warning, when the source failed: the node keeps the secrets it has, and falls back to its own
   * after two periods without a fetch.
   */
  async refreshTokenSecrets(): Promise<boolean> {
    const source = this.options.tokenSecrets;
    if (!source) return false;
    try {
      const { current, previous } = await source.secrets(this.tokens.epoch());
      this.tokens.setShared(current, previous);
      return true;
    } catch (err) {
      this.warn('TOKEN_SECRETS', `cannot fetch shared token secrets: ${String(err)}`);
      return false;
    }
  }

  /** One bootstrap round: ask every router (and saved node) for nodes near us, then look up our own id. */
  async bootstrap(opts: CallOptions = {}): Promise<BootstrapResult> {
    this.requireClient();
    const result = await bootstrapRound(this.host, opts);
    if (result.ok) this.bootstrapped = true;
    this.events.emit('bootstrap', { ...result });
    return result;
  }

  /** Stop everything: in-flight calls reject with ClosedError, the socket closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdownController.abort(new ClosedError());
    this.maintenance?.cancel();
    this.secretRefresh?.cancel();
    this.itemOps.close();
    this.relay?.close();
    this.stun?.close();
    await this.rpc?.close();
    await this.bootstrapLoop?.catch(() => undefined);
    this.events.emit('close', {});
  }

  // ------------------------------------------------------------------------------------------

  protected makeTables(v6: boolean): NodeTables {
    return new NodeTables(
      this.idBytes,
      {
        k: this.k,
        routing: {
          ...this.options.routing,
          ...(this.latency.latencyOf ? { latencyOf: this.latency.latencyOf } : {}),
          ...(this.latency.wideBuckets ? { wideBuckets: this.latency.wideBuckets } : {}),
          ...(this.latency.failures ? { failureOf: this.latency.failureOf(this.clock) } : {}),
        },
        v6,
        prefer: this.prefer,
        accept: this.secureIds === 'require' ? this.prefer : undefined,
      },
      {
        events: this.events,
        ping: async (address) => this.client?.ping(address, { signal: this.shutdown }),
      },
      this.clock.now(),
    );
  }

  /** Announce again what we announced recently (Dht implements it; node/reannounce.ts). */
  protected abstract reannounce(newHost: string): void;

  /** Refresh sparse buckets (Dht implements it with the other queries). */
  abstract refresh(opts?: CallOptions & { maxBuckets?: number }): Promise<number>;

  /** @internal */
  requireClient(): MainlineClient {
    if (this.closed) throw new ClosedError();
    if (!this.client)
      throw new KadmiumError('NOT_LISTENING', 'the node is not listening yet; call listen() or start()');
    return this.client;
  }

  protected checkTarget(target: Uint8Array, what: string): void {
    if (!(target instanceof Uint8Array) || target.length !== ID_LENGTH)
      throw new InvalidArgumentError(`${what} must be ${ID_LENGTH} bytes (40 hex characters)`);
  }

  protected callDeadline(opts: CallOptions, what: string) {
    return deadline(
      this.clock,
      opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
      what,
      opts.signal,
      this.shutdown,
    );
  }

  protected context(): HandlerContext {
    this.handlerContext ??= {
      localId: this.idBytes,
      table: this.nodeTables.v4,
      table6: this.nodeTables.v6,
      tokens: this.tokens,
      replay: this.replay,
      peers: this.peers,
      items: this.items,
      fullNode: this.options.fullNode ?? false,
      pathCache: this.latency.has('path-cache'),
      clock: this.clock,
      k: this.k,
      maxValues: { v4: 100, v6: 45 },
      onAnnounce: (infoHash, peer, seed) => {
        // A copy: the query's infohash is a view into the datagram, which listeners must not keep.
        if (this.events.has('peer:stored'))
          this.events.emit('peer:stored', { infoHash: infoHash.slice(), peer, seed });
      },
      sampler: this.sampler,
      punch: this.puncher,
      relay: this.relayClient && {
        open: (requester: Address, target: Address) =>
          this.relayServer
            ? this.relayServer.open(requester, target)
            : Promise.resolve('this node does not offer relaying (start it with relay: true)'),
        offered: (peer: Address, relay: Address) =>
          this.features.run(
            RELAY_CLIENT_FEATURE,
            () => this.relayClient?.offered(peer, relay) ?? false,
            false,
          ),
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
    return seedsFor(this, target);
  }

  /** @internal */
  runLookup<R extends { nodes: Contact[]; id: Uint8Array }>(
    kind: LookupKind,
    target: Uint8Array,
    seeds: Contact[],
    signal: AbortSignal,
    ask: (contact: Contact, onSlow: () => void) => Promise<R>,
    onReply?: (reply: R) => boolean | void,
    hasValue?: (reply: R) => boolean,
  ): Promise<LookupResult<R>> {
    return runLookup(this, kind, target, seeds, signal, ask, onReply, hasValue);
  }

  /** A node queried us: see NodeTables.queried (a query alone never admits a new contact). */
  protected onQueried(id: NodeId, from: Address): void {
    this.puncher?.sawQuery(from);
    this.nodeTables.queried({ id, address: from }, this.rpc?.limited(from.host) ?? false, this.clock.now());
  }

  /** Rejoin when the healer says the table is lost; reported as `heal` events. */
  private heal(): void {
    if (this.healing || !this.client) return;
    const reason = this.healer.check(this.clock.now(), {
      joined: this.bootstrapped,
      size: this.nodeTables.size,
      k: this.k,
      exportTable: () => this.nodeTables.export(idToHex),
    });
    if (!reason) return;
    this.healing = true;
    const lostAt = this.clock.now();
    this.events.emit('heal', { reason, phase: 'lost', tableSize: this.nodeTables.size });
    this.bootstrap()
      .then(
        (r) =>
          this.events.emit('heal', {
            reason,
            phase: r.ok ? 'rejoined' : 'failed',
            tableSize: this.nodeTables.size,
            tookMs: this.clock.now() - lostAt,
          }),
        () => undefined,
      )
      .finally(() => (this.healing = false));
  }

  protected onReplied(contact: Contact, reply: ReplyBase): void {
    this.healer.noteReply();
    this.contactBreakers.succeeded(addressKey(contact.address));
    this.latency.failures?.answered(contact.address, this.clock.now());
    // A source the rate limit is dropping stays out of the table even when it answers us.
    if (!this.rpc?.limited(contact.address.host)) this.observe(contact, true);
    // Runs inside every query's reply path: a throw here would fail the lookup that got the reply.
    const ip = reply.ip;
    if (ip) this.features.run(EXTERNAL_IP_FEATURE, () => this.learnExternalIp(reply.from, ip), undefined);
  }

  /** BEP 42: count the responder's view of our address; on a new consensus, re-derive our id. */
  protected learnExternalIp(reporter: Address, seen: Address): void {
    const before = this.voter.get(seen.family);
    const agreed = this.voter.report(reporter, seen);
    if (!agreed) return;
    this.events.emit('external-ip', { host: agreed, family: seen.family });
    // A change, not the first agreement: what we announced now points at an old address.
    if (before !== undefined) this.reannounce(agreed);
    // Our id follows the v4 address on a dual-stack node; a v6-only node uses its v6 address.
    const primary: Family = this.families.includes(4) ? 4 : 6;
    if (seen.family !== primary) return;
    const next = rederivedId(this.idBytes, agreed, {
      mode: this.secureIds,
      pinned: this.idPinned,
      random: this.random,
    });
    if (next) this.changeId(next, agreed);
  }

  protected changeId(id: NodeId, ip: string): void {
    const previous = this.idBytes;
    this.idBytes = id;
    this.nodeTables = this.nodeTables.rebuild(id, this.clock.now());
    // Handlers must answer with the new id and read the new tables.
    this.handlerContext = undefined;
    this.events.emit('id:changed', { id, previous, ip });
  }

  protected onFailed(to: Address, err: unknown): void {
    // Only silence and nonsense count against a node; an error reply proves it is alive.
    if (!(err instanceof TimeoutError) && !(err instanceof KadmiumError && err.code === 'BAD_REPLY')) return;
    if (err instanceof TimeoutError) {
      this.healer.noteTimeout();
      this.contactBreakers.failed(addressKey(to), this.clock.now());
      this.latency.failures?.timedOut(to, this.clock.now());
    }
    this.nodeTables.failed(to);
  }

  protected observe(contact: Contact, responded: boolean): void {
    // A contact that lied to us is neither kept nor handed out, however well it answers.
    if (this.reputation && !this.reputation.trusted(addressKey(contact.address))) return;
    this.nodeTables.observe(contact, responded, this.clock.now());
  }

  /** @internal */
  warn(code: string, message: string): void {
    this.events.emit('warning', { code, message });
  }
}

/**
 * What bootstrap, lookups and upkeep see of a node. A class rather than an object literal of
 * getters: the getters live once on the prototype instead of as closures on every node, and
 * they read the node itself, so listen() setting the client and BEP 42 changing the id show.
 */
class NodeHost implements BootstrapHost, MaintenanceHost {
  constructor(
    private readonly core: DhtCore,
    readonly shutdown: AbortSignal,
    private readonly options: DhtOptions,
  ) {}

  get id(): NodeId {
    return this.core.id;
  }
  get client(): MainlineClient {
    return this.core.requireClient();
  }
  get families(): readonly Family[] {
    return this.core.families;
  }
  get k(): number {
    return this.core.k;
  }
  get alpha(): number {
    return this.core.lookupAlpha;
  }
  get clock(): Clock {
    return this.core.clock;
  }
  get random(): Random {
    return this.core.random;
  }
  get events(): EventBus<DhtEvents> {
    return this.core.events;
  }
  get peers(): PeerStore {
    return this.core.peers;
  }
  get prefer(): ((c: Contact) => boolean) | undefined {
    return this.core.prefer;
  }
  get lookupPaths(): number {
    return this.core.lookupPaths;
  }
  get convergedWidth(): number | undefined {
    return this.core.convergedWidth;
  }
  get adaptiveRefresh(): boolean {
    return this.core.latency.has('adaptive-refresh');
  }
  get reputation(): Reputation | undefined {
    return this.core.reputation;
  }
  get contactBreakers(): ContactBreakers {
    return this.core.contactBreakers;
  }
  get routers(): readonly string[] | false | undefined {
    return this.options.bootstrap;
  }
  get saved(): ExportedTable | undefined {
    return this.core.healer.saved(this.options.routingTable);
  }
  get resolver(): Resolver | undefined {
    return this.options.resolver;
  }
  tables(): NodeTables {
    return this.core.tables();
  }
  warn(code: string, message: string): void {
    this.core.warn(code, message);
  }
}
