/**
 * The overlay node: Skywire's 256-bit DHT of signed items, on kadmium's routing table, disjoint
 * lookups, storage contract and stream RPC. Its public API is `start`, `put`, `get`, `delete`,
 * `close` and `stats`, each async call with an AbortSignal and a timeout.
 *
 * Where Skywire's node failed, this one does otherwise:
 * - a full bucket pings its stalest contact before evicting it, and idle buckets are refreshed;
 * - a peer that queried us enters the table only after a fresh dial to the port it named proved
 *   its key (so unreachable or spoofed peers stay out; overlay-membership.ts);
 * - a found item is verified against the target asked for, and the highest valid seq wins;
 * - a publisher's seq never repeats (overlay-seq.ts).
 */
import { setMaxListeners } from 'node:events';
import { type NodeId, randomIdWithPrefix } from '../kademlia/id.js';
import { Reputation } from '../kademlia/reputation.js';
import { RoutingTable } from '../kademlia/routing-table.js';
import { OverlayClient, type OverlayContact } from '../protocols/overlay/client.js';
import { overlayIdOf } from '../protocols/overlay/identity.js';
import { itemTarget, type MutableItem } from '../protocols/overlay/item.js';
import { OverlayTag } from '../protocols/overlay/messages.js';
import { NO_PUZZLE, type PuzzleDifficulty } from '../protocols/overlay/puzzle.js';
import { createOverlayHandler } from '../protocols/overlay/server.js';
import { OverlayStore } from '../protocols/overlay/store.js';
import { StreamRpc } from '../rpc/stream-rpc.js';
import { MemoryItemBackend } from '../storage/item-store.js';
import { type Address, addressKey } from '../transport/address.js';
import { deadline } from '../util/abort.js';
import { toHex } from '../util/bytes.js';
import { type Clock, every, systemClock, type Timer } from '../util/clock.js';
import { ClosedError, InvalidArgumentError } from '../util/errors.js';
import { EventBus } from '../util/events.js';
import { type Random, systemRandom } from '../util/random.js';
import { FeatureBreakers, type FeatureStatus } from './feature-breakers.js';
import type { LatencyRouting } from './latency.js';
import type { OverlayEvents } from './overlay-events.js';
import {
  ADVERT_INTERVAL_MS,
  advertiseFullNode,
  OVERLAY_ADVERT_FEATURE,
  OVERLAY_RECONCILE_FEATURE,
  reconcileWithAll,
} from './overlay-adverts.js';
import { findItem, publishItem } from './overlay-items.js';
import { reconcile, type ReconcileResult } from './overlay-reconcile.js';
import { OverlayLookups } from './overlay-lookups.js';
import { OverlayMembership } from './overlay-membership.js';
import {
  OVERLAY_ALPHA,
  OVERLAY_CALL_TIMEOUT_MS,
  OVERLAY_K,
  overlayLatency,
  OVERLAY_MAINTENANCE_MS,
  OVERLAY_PATHS,
  OVERLAY_RECONCILE_MS,
  OVERLAY_REFRESH_MS,
  OVERLAY_REQUEST_TIMEOUT_MS,
  OVERLAY_SLOW_RTTS,
  type OverlayBootstrap,
  type OverlayCallOptions,
  type OverlayGetResult,
  type OverlayNodeOptions,
  type OverlayPutResult,
} from './overlay-options.js';
import { PublisherSeqs } from './overlay-seq.js';
import { alphaUnder, type PressureLevel, pressureChanges } from './budget.js';

/** A reconciliation pages through a peer's whole store: it may take minutes. */
const RECONCILE_TIMEOUT_MS = 5 * 60_000;

// The options, defaults and results live beside the node; importers keep using this module.
export * from './overlay-options.js';

export class OverlayNode {
  readonly events = new EventBus<OverlayEvents>();
  readonly table: RoutingTable;
  readonly store: OverlayStore;
  readonly rpc: StreamRpc;
  readonly k: number;
  /** Per-contact RTTs and the latency techniques in use. */
  readonly latency: LatencyRouting;
  /** Optional work switched off for a back-off when it throws (node/feature-breakers.ts). */
  readonly features: FeatureBreakers;
  /** Per-contact answers, timeouts and lies (OverlayNodeOptions.reputation), or undefined when off. */
  readonly reputation: Reputation | undefined;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly alpha: number;
  private readonly paths: number;
  private readonly client: OverlayClient;
  private readonly difficulty: PuzzleDifficulty;
  private readonly shutdown = new AbortController();
  private readonly members: OverlayMembership;
  private readonly lookups: OverlayLookups;
  private readonly seqs: PublisherSeqs;
  private maintenance: Timer | undefined;
  private reconciling: Timer | undefined;
  private advertising: Timer | undefined;
  private closed = false;
  /** Resource pressure (node/budget.ts), set by setResourcePressure. */
  private pressure: PressureLevel = 0;

  constructor(private readonly options: OverlayNodeOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.features = new FeatureBreakers(this.clock, (change) => this.events.emit('overlay:feature', change));
    this.k = options.k ?? OVERLAY_K;
    this.alpha = options.alpha ?? OVERLAY_ALPHA;
    this.paths = options.paths ?? OVERLAY_PATHS;
    if (!Number.isInteger(this.paths) || this.paths < 1 || this.paths > 16) {
      throw new InvalidArgumentError(`paths must be an integer from 1 to 16, got ${this.paths}`);
    }
    this.difficulty = options.difficulty ?? NO_PUZZLE;
    this.reputation = options.reputation ? new Reputation() : undefined;
    this.seqs = new PublisherSeqs(this.clock, options.state);
    this.latency = overlayLatency(options.latency);
    this.table = new RoutingTable(
      options.identity.id,
      {
        k: this.k,
        keyBytes: 33,
        exemptLocal: options.exemptLocal ?? true,
        ...(this.latency.latencyOf ? { latencyOf: this.latency.latencyOf } : {}),
      },
      this.clock.now(),
    );
    this.store =
      options.store ?? new OverlayStore(new MemoryItemBackend(), { fullNode: options.fullNode ?? false });
    this.rpc = new StreamRpc({
      clock: this.clock,
      timeoutMs: options.requestTimeoutMs ?? OVERLAY_REQUEST_TIMEOUT_MS,
      methodNames: Object.fromEntries(Object.entries(OverlayTag).map(([name, tag]) => [tag, name])),
      emit: (event, payload) => this.events.emit(event, payload as OverlayEvents[typeof event]),
    });
    this.client = new OverlayClient({
      rpc: this.rpc,
      transport: options.transport,
      id: options.identity.id,
      publicKey: options.identity.publicKey,
      port:
        options.advertise === false ? undefined : (options.advertisedPort ?? options.transport.address.port),
      staticBits: this.difficulty.staticBits,
      clock: this.clock,
      onRtt: (contact, rttMs) => this.latency.rtt.observe(contact.address, rttMs),
    });
    this.rpc.onRequest(
      createOverlayHandler({
        id: options.identity.id,
        publicKey: options.identity.publicKey,
        k: this.k,
        clock: this.clock,
        store: this.store,
        closest: (target, n) => this.table.closest(target, n, { answered: true }),
        closestMapped: (target, n, make, memo) =>
          this.table.closestMapped(target, n, { answered: true }, make, memo),
        responsible: (target) => this.members.responsible(target),
        heard: (conn, port) => this.members.heard(conn, port),
        ...(options.peerJsonCacheMinPerSec !== undefined
          ? { peerJsonCacheMinPerSec: options.peerJsonCacheMinPerSec }
          : {}),
      }),
    );
    this.members = new OverlayMembership({
      id: options.identity.id,
      k: this.k,
      table: this.table,
      client: this.client,
      transport: options.transport,
      clock: this.clock,
      events: this.events,
      shutdown: this.shutdown.signal,
      fullNode: () => this.store.options.fullNode,
      trusted: this.reputation ? (c) => this.reputation?.trusted(addressKey(c.address)) !== false : undefined,
    });
    this.lookups = new OverlayLookups({
      k: this.k,
      alpha: () => alphaUnder(this.pressure, this.alpha),
      paths: this.paths,
      table: this.table,
      client: this.client,
      members: this.members,
      store: this.store,
      seqs: this.seqs,
      clock: this.clock,
      events: this.events,
      convergedWidth: () => (this.latency.has('converged-width') && this.pressure === 0 ? this.k : undefined),
      slowAfterMs: this.latency.has('adaptive-timeouts')
        ? (contact) => OVERLAY_SLOW_RTTS * this.latency.rtt.slowAfterMs(contact.address)
        : undefined,
      reputation: this.reputation,
    });
    options.transport.onConnection((conn) => this.rpc.attach(conn));
    setMaxListeners(0, this.shutdown.signal);
  }

  get id(): Uint8Array {
    return this.options.identity.id;
  }

  get publicKey(): Uint8Array {
    return this.options.identity.publicKey;
  }

  get address(): Address {
    return this.options.transport.address;
  }

  /** Join: ping the bootstrap nodes, then look ourselves up. Resolves with how many answered. */
  async start(
    options: OverlayCallOptions = {},
  ): Promise<{ ok: boolean; responded: number; message: string }> {
    this.assertOpen();
    if (!this.maintenance) {
      this.maintenance = every(this.clock, OVERLAY_MAINTENANCE_MS, () => void this.upkeep());
    }
    if (!this.reconciling && this.store.options.fullNode) {
      // A full node's extras: on timers, so a throw would be an unhandled rejection (the process
      // ends). Behind breakers, a broken one is off for a back-off and the node serves on.
      const reconcile = (): void =>
        void this.features.runAsync(OVERLAY_RECONCILE_FEATURE, () => this.reconcileAll(), undefined);
      this.reconciling = every(this.clock, OVERLAY_RECONCILE_MS, reconcile);
      this.advertising = every(
        this.clock,
        ADVERT_INTERVAL_MS,
        () => void this.features.runAsync(OVERLAY_ADVERT_FEATURE, () => this.advertise(), undefined),
      );
      if ((this.options.fullNodes?.length ?? 0) > 0) reconcile();
    }
    const bootstrap = this.options.bootstrap ?? [];
    if (bootstrap.length === 0)
      return { ok: true, responded: 0, message: 'no bootstrap nodes: this node starts a network' };
    return this.call('bootstrap', options, OVERLAY_CALL_TIMEOUT_MS, async (signal) => {
      const answers = await Promise.allSettled(
        bootstrap.map((b) => this.members.ping(contactFor(b), signal)),
      );
      const responded = answers.filter((a) => a.status === 'fulfilled').length;
      if (responded === 0) {
        return {
          ok: false,
          responded,
          message: `none of ${bootstrap.length} bootstrap nodes answered; check their keys and addresses`,
        };
      }
      await this.lookups.run(this.id, 'get_value', signal).catch(() => undefined);
      return {
        ok: true,
        responded,
        message: `joined through ${responded} of ${bootstrap.length} bootstrap nodes; ${this.table.size} contacts`,
      };
    });
  }

  /**
   * Sign `value` under our key and `salt`, and store it on the k closest nodes. The seq is chosen
   * so it never repeats (see the header); pass `cas` to store only over that seq.
   */
  async put(
    value: Uint8Array,
    options: OverlayCallOptions & { salt?: Uint8Array; cas?: bigint } = {},
  ): Promise<OverlayPutResult> {
    this.assertOpen();
    const salt = options.salt ?? new Uint8Array(0);
    const target = itemTarget(this.publicKey, salt);
    return this.call('put', options, OVERLAY_CALL_TIMEOUT_MS, (signal) =>
      publishItem(this.lookups, this.options.identity, value, salt, target, signal, options.cas),
    );
  }

  /** Delete our item under `salt`: a tombstone at a higher seq replaces it everywhere. */
  async delete(options: OverlayCallOptions & { salt?: Uint8Array } = {}): Promise<OverlayPutResult> {
    return this.put(new Uint8Array(0), options);
  }

  /** The item a publisher stored under `salt`, verified, with the highest seq the network holds. */
  async get(
    publicKey: Uint8Array,
    options: OverlayCallOptions & {
      salt?: Uint8Array;
      /**
       * Also take a mirror: an item another key signed and stored under this target (a discovery
       * server's copy), when it verifies on its own and this says yes (discovery checks the record
       * inside, which its subject signed).
       */
      acceptMirror?: (item: MutableItem) => boolean;
    } = {},
  ): Promise<OverlayGetResult | undefined> {
    this.assertOpen();
    const target = itemTarget(publicKey, options.salt ?? new Uint8Array(0));
    return this.call('get', options, OVERLAY_CALL_TIMEOUT_MS, (signal) =>
      findItem(this.lookups, target, signal, options.acceptMirror),
    );
  }

  /** Look ourselves up again: fills the buckets near our id (a young network's joiners need it). */
  async refreshSelf(options: OverlayCallOptions = {}): Promise<number> {
    this.assertOpen();
    return this.call('refresh', options, OVERLAY_CALL_TIMEOUT_MS, async (signal) => {
      await this.lookups.run(this.id, 'find_node', signal);
      return this.table.size;
    });
  }

  /** Exchange items with another full node: pull what it has, push what it lacks. */
  async reconcile(peer: OverlayBootstrap, options: OverlayCallOptions = {}): Promise<ReconcileResult> {
    this.assertOpen();
    return this.call('reconcile', options, RECONCILE_TIMEOUT_MS, async (signal) => {
      const result = await reconcile(this.client, this.store, this.clock, contactFor(peer), signal);
      this.events.emit('overlay:reconciled', { peer: peer.address, ...result });
      return result;
    });
  }

  /** Reconcile with the configured full nodes and every fresh, signer-bound advert we hold. */
  private async reconcileAll(): Promise<void> {
    await reconcileWithAll(this, this.options.fullNodes ?? [], this.clock.now(), () => this.closed);
  }

  /** A full node says so every 5 minutes, under salt "fullnode", signed by its own key. */
  async advertise(): Promise<void> {
    if (this.closed || !this.store.options.fullNode) return;
    await advertiseFullNode(
      this,
      this.options.advertisedHost ?? this.address.host,
      this.options.advertisedPort ?? this.address.port,
      this.clock.now(),
    );
  }

  // --- direct requests (discovery: mirror pushes and full-node reads, no lookup) -------------

  /** One GetValue to `peer`: the item it holds at `target`, not yet verified (the caller does). */
  async getValueFrom(
    peer: OverlayBootstrap,
    target: Uint8Array,
    options: OverlayCallOptions = {},
  ): Promise<MutableItem | undefined> {
    this.assertOpen();
    return this.call('get_value', options, OVERLAY_REQUEST_TIMEOUT_MS, async (signal) => {
      const reply = await this.client.request(
        contactFor(peer),
        'get_value',
        { target: target as NodeId },
        signal,
      );
      return reply.item;
    });
  }

  /** One PutBatch to `peer` (targets: a mirror's subject target, or 32 zeros for the item's own). */
  async putBatchTo(
    peer: OverlayBootstrap,
    items: MutableItem[],
    targets: Uint8Array[],
    options: OverlayCallOptions = {},
  ): Promise<boolean[]> {
    this.assertOpen();
    return this.call('put_batch', options, OVERLAY_CALL_TIMEOUT_MS, async (signal) => {
      const reply = await this.client.request(
        contactFor(peer),
        'put_batch',
        { items, targets: targets as NodeId[] },
        signal,
      );
      return reply.stored;
    });
  }

  /**
   * Resource pressure from the owner's budgets (node/budget.ts; the daemon feeds it every tick):
   * lookup parallelism, the wide last round and the RTT history shrink as for the Mainline node.
   * Emits `overlay:budget`; returns what changed (empty when the level did not).
   */
  setResourcePressure(level: PressureLevel): string[] {
    if (level === this.pressure) return [];
    const changes = pressureChanges(this.latency, this.alpha, this.pressure, level);
    this.pressure = level;
    this.events.emit('overlay:budget', { level, changes });
    return changes;
  }

  stats(): {
    id: string;
    contacts: number;
    items: ReturnType<OverlayStore['counts']>;
    connectionsHandling: number;
    rpc: ReturnType<StreamRpc['stats']['snapshot']>;
    /** Optional features that ever threw: on again, or off until when. */
    features: FeatureStatus[];
  } {
    return {
      id: toHex(this.id),
      contacts: this.table.size,
      items: this.store.counts(),
      connectionsHandling: this.rpc.inFlight,
      rpc: this.rpc.stats.snapshot(),
      features: this.features.status(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.maintenance?.cancel();
    this.reconciling?.cancel();
    this.advertising?.cancel();
    this.shutdown.abort(new ClosedError());
    await this.options.transport.close();
    await this.store.close();
    await this.options.release?.();
    this.events.emit('close', {});
  }

  private async upkeep(): Promise<void> {
    if (this.closed) return;
    const now = this.clock.now();
    const expired = await this.store.expire(now).catch(() => 0);
    if (this.table.size === 0 && (this.options.bootstrap?.length ?? 0) > 0) {
      // Skywire's tables stayed empty when bootstrap failed once (#2390): retry every upkeep.
      const joined = await this.start({ timeoutMs: OVERLAY_REQUEST_TIMEOUT_MS * 2 }).catch(() => undefined);
      this.events.emit('overlay:rejoin', { ok: joined?.ok ?? false, contacts: this.table.size });
      return;
    }
    let refreshed = 0;
    for (const index of this.table.staleBuckets(now, OVERLAY_REFRESH_MS)) {
      this.table.touchBucket(index, now);
      refreshed++;
      const target = randomIdWithPrefix(this.random, this.id, index);
      // One path: a refresh only fills the bucket, and every contact it meets is admitted by a
      // fresh dial of a key-derived id, so d paths would multiply the network's steady upkeep
      // cost by d without protecting anything a value lookup needs.
      if (this.table.size > 0)
        await this.lookups
          .run(target, 'find_node', this.shutdown.signal, undefined, 1)
          .catch(() => undefined);
    }
    this.events.emit('overlay:upkeep', { expired, refreshed });
  }

  /** Run `fn` under one deadline: the caller's signal, its timeout (or `defaultMs`), and close(). */
  private async call<T>(
    name: string,
    options: OverlayCallOptions,
    defaultMs: number,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const call = deadline(
      this.clock,
      options.timeoutMs ?? defaultMs,
      name,
      options.signal,
      this.shutdown.signal,
    );
    try {
      return await fn(call.signal);
    } finally {
      call.dispose();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }
}

function contactFor(b: OverlayBootstrap): OverlayContact {
  return { id: overlayIdOf(b.publicKey), address: b.address, key: b.publicKey };
}
