/**
 * The overlay node: Skywire's 256-bit DHT of signed items, on kadmium's routing table, disjoint
 * lookups, storage contract and stream RPC. Its public API is `start`, `put`, `get`, `delete`,
 * `close` and `stats`, each async call with an AbortSignal and a timeout.
 *
 * Where Skywire's node failed, this one does otherwise:
 * - a full bucket pings its stalest contact before evicting it, and idle buckets are refreshed;
 * - a peer that queried us enters the table only after it answered a ping on the port it named
 *   (so unreachable or spoofed peers stay out);
 * - a found item is verified against the target asked for, and the highest valid seq wins;
 * - a publisher's seq never repeats (overlay-seq.ts).
 */
import { setMaxListeners } from 'node:events';
import { disjointLookup } from '../kademlia/disjoint.js';
import { asNodeId, compareDistance, type NodeId, randomIdWithPrefix } from '../kademlia/id.js';
import type { LookupResult } from '../kademlia/lookup.js';
import { type ObserveResult, RoutingTable } from '../kademlia/routing-table.js';
import { OverlayClient, type OverlayContact } from '../protocols/overlay/client.js';
import { type OverlayIdentity, overlayIdOf } from '../protocols/overlay/identity.js';
import {
  isTombstone,
  itemTarget,
  MAX_SEQ,
  type MutableItem,
  signItem,
  verifyItem,
} from '../protocols/overlay/item.js';
import { OverlayTag } from '../protocols/overlay/messages.js';
import { NO_PUZZLE, type PuzzleDifficulty } from '../protocols/overlay/puzzle.js';
import { createOverlayHandler } from '../protocols/overlay/server.js';
import { OverlayStore } from '../protocols/overlay/store.js';
import { StreamRpc } from '../rpc/stream-rpc.js';
import { MemoryItemBackend } from '../storage/item-store.js';
import type { StateStore } from '../storage/state-store.js';
import { type Address, addressKey, isWildcardHost, makeAddress } from '../transport/address.js';
import type { Connection, StreamTransport } from '../transport/stream/types.js';
import { deadline } from '../util/abort.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { type Clock, every, systemClock, type Timer } from '../util/clock.js';
import { ClosedError, InvalidArgumentError, KadmiumError } from '../util/errors.js';
import { EventBus } from '../util/events.js';
import { type Random, systemRandom } from '../util/random.js';
import type { OverlayEvents } from './overlay-events.js';
import { ADVERT_INTERVAL_MS, advertisedFullNodes, encodeAdvert, FULL_NODE_SALT } from './overlay-adverts.js';
import { reconcile, type ReconcileResult } from './overlay-reconcile.js';
import { PublisherSeqs } from './overlay-seq.js';

export const OVERLAY_K = 20;
export const OVERLAY_ALPHA = 3;
/** Disjoint paths per lookup (S/Kademlia §4.4); 1 is the plain Kademlia lookup. */
export const OVERLAY_PATHS = 3;
export const OVERLAY_CALL_TIMEOUT_MS = 30_000;
export const OVERLAY_REQUEST_TIMEOUT_MS = 5_000;
/** Buckets idle this long are refreshed with a lookup of a random id in their range. */
export const OVERLAY_REFRESH_MS = 15 * 60_000;
export const OVERLAY_MAINTENANCE_MS = 30_000;
/** Full nodes reconcile with their peers this often (Skywire: hourly), and once at start. */
export const OVERLAY_RECONCILE_MS = 60 * 60_000;
/** Queriers we ping back at once to admit them to the table; more wait for their next query. */
const MAX_ADMITTING = 32;

export interface OverlayBootstrap {
  publicKey: Uint8Array;
  address: Address;
}

export interface OverlayNodeOptions {
  identity: OverlayIdentity;
  transport: StreamTransport;
  /** The port others should dial us on, sent with every request (default: the transport's). */
  advertisedPort?: number;
  /**
   * The host others should dial us on, published in full-node adverts (default: the bound one).
   * A node bound to 0.0.0.0 or :: needs it to advertise: a wildcard dials the dialler itself.
   */
  advertisedHost?: string;
  /**
   * Tell peers our port so they may add us to their tables (default true). One-shot clients say
   * no: they would only fill others' tables with nodes about to leave (like BEP 43's ro=1).
   */
  advertise?: boolean;
  bootstrap?: OverlayBootstrap[];
  clock?: Clock;
  random?: Random;
  k?: number;
  alpha?: number;
  /** Disjoint lookup paths, d. */
  paths?: number;
  store?: OverlayStore;
  fullNode?: boolean;
  /** Other full nodes this one reconciles with (GetItems / PutBatch), at start and hourly. */
  fullNodes?: OverlayBootstrap[];
  /** Where the last seq used per target is kept across restarts. */
  state?: StateStore;
  difficulty?: PuzzleDifficulty;
  requestTimeoutMs?: number;
  /** Called last in close(): release what the node was built on (storage files, connections). */
  release?: () => Promise<void>;
  /** Let loopback and private addresses share buckets (testnets); default true. */
  exemptLocal?: boolean;
}

export interface OverlayCallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface OverlayPutResult {
  target: Uint8Array;
  seq: bigint;
  /** Nodes that stored it. */
  stored: number;
  /** Nodes asked. */
  asked: number;
  /** This node keeps a copy (it is among the closest, a full node, or alone). */
  storedLocally: boolean;
}

export interface OverlayGetResult {
  item: MutableItem;
  /** The item is a tombstone: its publisher deleted it. */
  deleted: boolean;
  /** Nodes that answered with a valid item, and with an invalid one. */
  sources: number;
  lies: number;
}

interface GetReply {
  item?: MutableItem;
}

export class OverlayNode {
  readonly events = new EventBus<OverlayEvents>();
  readonly table: RoutingTable;
  readonly store: OverlayStore;
  readonly rpc: StreamRpc;
  readonly k: number;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly alpha: number;
  private readonly paths: number;
  private readonly client: OverlayClient;
  private readonly difficulty: PuzzleDifficulty;
  private readonly shutdown = new AbortController();
  private readonly admitting = new Set<string>();
  private readonly seqs: PublisherSeqs;
  private maintenance: Timer | undefined;
  private reconciling: Timer | undefined;
  private advertising: Timer | undefined;
  private closed = false;

  constructor(private readonly options: OverlayNodeOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.k = options.k ?? OVERLAY_K;
    this.alpha = options.alpha ?? OVERLAY_ALPHA;
    this.paths = options.paths ?? OVERLAY_PATHS;
    if (!Number.isInteger(this.paths) || this.paths < 1 || this.paths > 16) {
      throw new InvalidArgumentError(`paths must be an integer from 1 to 16, got ${this.paths}`);
    }
    this.difficulty = options.difficulty ?? NO_PUZZLE;
    this.seqs = new PublisherSeqs(this.clock, options.state);
    this.table = new RoutingTable(
      options.identity.id,
      { k: this.k, keyBytes: 33, exemptLocal: options.exemptLocal ?? true },
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
        responsible: (target) => this.responsible(target),
        heard: (conn, port) => this.heard(conn, port),
      }),
    );
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
      this.reconciling = every(this.clock, OVERLAY_RECONCILE_MS, () => void this.reconcileAll());
      this.advertising = every(this.clock, ADVERT_INTERVAL_MS, () => void this.advertise());
      if ((this.options.fullNodes?.length ?? 0) > 0) void this.reconcileAll();
    }
    const bootstrap = this.options.bootstrap ?? [];
    if (bootstrap.length === 0)
      return { ok: true, responded: 0, message: 'no bootstrap nodes: this node starts a network' };
    const call = deadline(
      this.clock,
      options.timeoutMs ?? OVERLAY_CALL_TIMEOUT_MS,
      'bootstrap',
      options.signal,
      this.shutdown.signal,
    );
    try {
      const answers = await Promise.allSettled(bootstrap.map((b) => this.ping(contactFor(b), call.signal)));
      const responded = answers.filter((a) => a.status === 'fulfilled').length;
      if (responded === 0) {
        return {
          ok: false,
          responded,
          message: `none of ${bootstrap.length} bootstrap nodes answered; check their keys and addresses`,
        };
      }
      await this.lookup(this.id, 'get_value', call.signal).catch(() => undefined);
      return {
        ok: true,
        responded,
        message: `joined through ${responded} of ${bootstrap.length} bootstrap nodes; ${this.table.size} contacts`,
      };
    } finally {
      call.dispose();
    }
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
    const call = deadline(
      this.clock,
      options.timeoutMs ?? OVERLAY_CALL_TIMEOUT_MS,
      'put',
      options.signal,
      this.shutdown.signal,
    );
    try {
      if (this.table.size === 0) {
        // Alone in the network: keep it here (Skywire: "stored locally only").
        const item = signItem(this.options.identity, value, await this.seqs.next(target, -1n), salt);
        const local = await this.store.put(item, this.clock.now(), { cas: options.cas });
        if (!local.ok) throw new KadmiumError('PUT_REJECTED', local.message);
        await this.seqs.used(target, item.seq);
        return { target, seq: item.seq, stored: 0, asked: 0, storedLocally: true };
      }
      // The highest seq the network holds, from items that verify: a forged one could otherwise
      // push our seq to the top of the range.
      let remoteSeq = -1n;
      const found = await this.lookup(target, 'get_value', call.signal, (_contact, reply) => {
        if (
          reply.item &&
          reply.item.seq > remoteSeq &&
          verifyItem(reply.item, this.store.options.limits, target).ok
        )
          remoteSeq = reply.item.seq;
      });
      if (remoteSeq >= MAX_SEQ) {
        throw new KadmiumError(
          'SEQ_EXHAUSTED',
          'the stored seq is the largest uint64; publish under another salt',
        );
      }
      const seq = await this.seqs.next(target, remoteSeq);
      const item = signItem(this.options.identity, value, seq, salt);
      return await this.store_(item, target, found, call.signal, options.cas);
    } finally {
      call.dispose();
    }
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
    const call = deadline(
      this.clock,
      options.timeoutMs ?? OVERLAY_CALL_TIMEOUT_MS,
      'get',
      options.signal,
      this.shutdown.signal,
    );
    let best: MutableItem | undefined = await this.store.get(target, this.clock.now());
    let sources = 0;
    let lies = 0;
    if (this.table.size === 0) {
      // Alone (or cut off): what we hold is all there is; put() keeps items here in that case.
      call.dispose();
      return best ? { item: best, deleted: isTombstone(best), sources: 0, lies: 0 } : undefined;
    }
    try {
      const found = await this.lookup(target, 'get_value', call.signal, (contact, reply) => {
        if (!reply.item) return;
        let check = verifyItem(reply.item, this.store.options.limits, target);
        if (!check.ok && check.code === 'TARGET_MISMATCH' && options.acceptMirror) {
          check = verifyItem(reply.item, this.store.options.limits);
          if (check.ok && !options.acceptMirror(reply.item)) {
            check = { ok: false, code: 'TARGET_MISMATCH', message: 'a mirror the caller did not accept' };
          }
        }
        if (!check.ok) {
          lies++;
          this.events.emit('overlay:lie', { from: contact.address, reason: check.message });
          return;
        }
        sources++;
        if (!best || reply.item.seq > best.seq) best = reply.item;
      });
      this.events.emit('overlay:get', {
        target,
        found: best !== undefined,
        sources,
        lies,
        queried: found.queried,
      });
    } finally {
      call.dispose();
    }
    if (!best) return undefined;
    return { item: best, deleted: isTombstone(best), sources, lies };
  }

  /** Look ourselves up again: fills the buckets near our id (a young network's joiners need it). */
  async refreshSelf(options: OverlayCallOptions = {}): Promise<number> {
    this.assertOpen();
    const call = deadline(
      this.clock,
      options.timeoutMs ?? OVERLAY_CALL_TIMEOUT_MS,
      'refresh',
      options.signal,
      this.shutdown.signal,
    );
    try {
      await this.lookup(this.id, 'find_node', call.signal);
      return this.table.size;
    } finally {
      call.dispose();
    }
  }

  /** Exchange items with another full node: pull what it has, push what it lacks. */
  async reconcile(peer: OverlayBootstrap, options: OverlayCallOptions = {}): Promise<ReconcileResult> {
    this.assertOpen();
    const call = deadline(
      this.clock,
      options.timeoutMs ?? 5 * 60_000,
      'reconcile',
      options.signal,
      this.shutdown.signal,
    );
    try {
      const result = await reconcile(this.client, this.store, this.clock, contactFor(peer), call.signal);
      this.events.emit('overlay:reconciled', { peer: peer.address, ...result });
      return result;
    } finally {
      call.dispose();
    }
  }

  /** Reconcile with the configured full nodes and every fresh, signer-bound advert we hold. */
  private async reconcileAll(): Promise<void> {
    const peers = new Map<string, OverlayBootstrap>();
    for (const peer of [
      ...(this.options.fullNodes ?? []),
      ...(await advertisedFullNodes(this.store, this.clock.now())),
    ]) {
      if (!bytesEqual(peer.publicKey, this.publicKey)) peers.set(toHex(peer.publicKey), peer);
    }
    for (const peer of peers.values()) {
      if (this.closed) return;
      await this.reconcile(peer).catch((err: unknown) =>
        this.events.emit('overlay:warning', {
          code: 'RECONCILE',
          message: `reconcile with ${addressKey(peer.address)}: ${String(err)}`,
        }),
      );
    }
  }

  /** A full node says so every 5 minutes, under salt "fullnode", signed by its own key. */
  async advertise(): Promise<void> {
    if (this.closed || !this.store.options.fullNode) return;
    const host = this.options.advertisedHost ?? this.address.host;
    const port = this.options.advertisedPort ?? this.address.port;
    if (isWildcardHost(host)) {
      this.events.emit('overlay:warning', {
        code: 'ADVERT',
        message: `full-node advert not sent: bound to ${host}, which others cannot dial; set advertisedHost (overlay.advertise_host)`,
      });
      return;
    }
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const advert = encodeAdvert(this.publicKey, addr, this.store.size, this.clock.now());
    await this.put(advert, { salt: FULL_NODE_SALT }).catch((err: unknown) =>
      this.events.emit('overlay:warning', { code: 'ADVERT', message: `full-node advert: ${String(err)}` }),
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
    const call = deadline(
      this.clock,
      options.timeoutMs ?? OVERLAY_REQUEST_TIMEOUT_MS,
      'get_value',
      options.signal,
      this.shutdown.signal,
    );
    try {
      const reply = await this.client.request(
        contactFor(peer),
        'get_value',
        { target: target as NodeId },
        call.signal,
      );
      return reply.item;
    } finally {
      call.dispose();
    }
  }

  /** One PutBatch to `peer` (targets: a mirror's subject target, or 32 zeros for the item's own). */
  async putBatchTo(
    peer: OverlayBootstrap,
    items: MutableItem[],
    targets: Uint8Array[],
    options: OverlayCallOptions = {},
  ): Promise<boolean[]> {
    this.assertOpen();
    const call = deadline(
      this.clock,
      options.timeoutMs ?? OVERLAY_CALL_TIMEOUT_MS,
      'put_batch',
      options.signal,
      this.shutdown.signal,
    );
    try {
      const reply = await this.client.request(
        contactFor(peer),
        'put_batch',
        { items, targets: targets as NodeId[] },
        call.signal,
      );
      return reply.stored;
    } finally {
      call.dispose();
    }
  }

  stats(): {
    id: string;
    contacts: number;
    items: ReturnType<OverlayStore['counts']>;
    connectionsHandling: number;
    rpc: ReturnType<StreamRpc['stats']['snapshot']>;
  } {
    return {
      id: toHex(this.id),
      contacts: this.table.size,
      items: this.store.counts(),
      connectionsHandling: this.rpc.inFlight,
      rpc: this.rpc.stats.snapshot(),
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

  // --- lookups -------------------------------------------------------------------------------

  /** A disjoint GetValue lookup (it returns both the item and the closest nodes). */
  private async lookup(
    target: Uint8Array,
    kind: 'get_value' | 'find_node',
    signal: AbortSignal,
    onItem?: (contact: OverlayContact, reply: GetReply) => void,
    paths = this.paths,
  ): Promise<LookupResult<GetReply>> {
    const seeds = this.table.closest(target, this.k * 2) as OverlayContact[];
    if (seeds.length === 0) {
      throw new KadmiumError(
        'NO_NODES',
        'the overlay routing table is empty; start() with reachable bootstrap nodes',
      );
    }
    const started = this.clock.now();
    // Every query of the lookup listens on the call's signal.
    setMaxListeners(0, signal);
    const result = await disjointLookup<GetReply>({
      target,
      seeds,
      k: this.k,
      alpha: this.alpha,
      paths,
      signal,
      query: async (contact) => {
        const c = contact as OverlayContact;
        if (kind === 'find_node') {
          const reply = await this.askAndObserve(c, 'find_node', { target: asNodeId(target) }, signal);
          return { nodes: this.client.contactsOf(reply.closest), result: {} };
        }
        const reply = await this.askAndObserve(c, 'get_value', { target: asNodeId(target) }, signal);
        return {
          nodes: this.client.contactsOf(reply.closest),
          result: reply.item ? { item: reply.item } : {},
        };
      },
      onReply: (contact, result) => onItem?.(contact as OverlayContact, result),
    });
    this.events.emit('overlay:lookup', {
      kind,
      target,
      durationMs: this.clock.now() - started,
      queried: result.queried,
      responded: result.responded,
      hops: result.hops,
    });
    return result;
  }

  /** Send the item to the closest nodes found; store it here too when we are among them. */
  private async store_(
    item: MutableItem,
    target: Uint8Array,
    found: LookupResult<GetReply>,
    signal: AbortSignal,
    cas: bigint | undefined,
  ): Promise<OverlayPutResult> {
    const now = this.clock.now();
    const storedLocally =
      (this.store.options.fullNode || this.responsible(target)) &&
      (await this.store.put(item, now, { cas })).ok;
    const targets = found.closest.map((c) => c.contact as OverlayContact);
    const answers = await Promise.allSettled(
      targets.map((c) =>
        this.client.request(c, 'put_value', { item, ...(cas !== undefined ? { cas } : {}) }, signal),
      ),
    );
    const stored = answers.filter((a) => a.status === 'fulfilled' && a.value.stored).length;
    await this.seqs.used(target, item.seq);
    this.events.emit('overlay:put', { target, seq: item.seq, stored, asked: targets.length });
    if (stored === 0 && targets.length > 0) {
      const reason = answers.find((a) => a.status === 'fulfilled' && !a.value.stored);
      const why = reason?.status === 'fulfilled' ? reason.value.error : 'no node answered';
      throw new KadmiumError('PUT_REJECTED', `no node stored the item: ${why ?? 'unknown'}`);
    }
    return { target, seq: item.seq, stored, asked: targets.length, storedLocally };
  }

  // --- the routing table ---------------------------------------------------------------------

  private async ping(contact: OverlayContact, signal: AbortSignal): Promise<void> {
    await this.askAndObserve(contact, 'ping', {}, signal);
  }

  /** Ask a contact; an answer puts it in the table, a failure counts against it. */
  private async askAndObserve<M extends 'ping' | 'find_node' | 'get_value'>(
    contact: OverlayContact,
    method: M,
    body: Parameters<OverlayClient['request']>[2],
    signal: AbortSignal,
  ) {
    try {
      const reply = await this.client.request(contact, method, body as never, signal);
      this.observe(contact);
      return reply;
    } catch (err) {
      if (!signal.aborted) {
        const gone = this.table.failed(contact.id);
        if (gone) this.events.emit('overlay:evicted', { id: gone.removed.id, address: gone.removed.address });
      }
      throw err;
    }
  }

  private observe(contact: OverlayContact): void {
    const result: ObserveResult = this.table.observe(contact, true, this.clock.now());
    if (result.action === 'added') {
      this.events.emit('overlay:added', { id: contact.id, address: contact.address, bucket: result.bucket });
    } else if (result.action === 'cached' && result.ping) {
      // A full bucket: ping its stalest contact; if that fails, the newcomer replaces it.
      const stale = result.ping as OverlayContact;
      void this.ping(stale, this.shutdown.signal).catch(() => undefined);
    }
  }

  /**
   * A peer queried us; admit it once a fresh dial to the port it named reaches it (a connection it
   * opened to us proves nothing: NATed peers can dial out but not be dialled).
   */
  private heard(conn: Connection, port: number | undefined): void {
    if (port === undefined || this.closed) return;
    const address = makeAddress(conn.remoteAddress.host, port);
    const contact: OverlayContact = {
      id: overlayIdOf(conn.remotePublicKey),
      address,
      key: conn.remotePublicKey,
    };
    if (this.table.get(contact.id)) {
      // A known contact querying us over a channel that proved its key is alive: note it, as BEP 5
      // does for a node that sends us a query. It also keeps its bucket fresh, so a node with
      // traffic spends no refresh lookups on the buckets that traffic covers.
      this.table.observe(contact, false, this.clock.now());
      return;
    }
    const key = addressKey(address);
    if (this.admitting.has(key) || this.admitting.size >= MAX_ADMITTING) return;
    this.admitting.add(key);
    void this.options.transport
      .probe(address, contact.key, this.shutdown.signal)
      .then((reachable) => {
        if (reachable && !this.closed) this.observe(contact);
      })
      .catch(() => undefined)
      .finally(() => this.admitting.delete(key));
  }

  /** Regular nodes hold items for targets they are among the k closest to, as far as they know. */
  private responsible(target: Uint8Array): boolean {
    if (this.store.options.fullNode) return true;
    const closest = this.table.closest(target, this.k);
    if (closest.length < this.k) return true;
    const farthest = closest[closest.length - 1];
    return farthest === undefined || compareDistance(target, this.id, farthest.id) <= 0;
  }

  private async upkeep(): Promise<void> {
    if (this.closed) return;
    const now = this.clock.now();
    await this.store.expire(now).catch(() => undefined);
    if (this.table.size === 0 && (this.options.bootstrap?.length ?? 0) > 0) {
      // Skywire's tables stayed empty when bootstrap failed once (#2390): retry every upkeep.
      const joined = await this.start({ timeoutMs: OVERLAY_REQUEST_TIMEOUT_MS * 2 }).catch(() => undefined);
      this.events.emit('overlay:rejoin', { ok: joined?.ok ?? false, contacts: this.table.size });
      return;
    }
    for (const index of this.table.staleBuckets(now, OVERLAY_REFRESH_MS)) {
      this.table.touchBucket(index, now);
      const target = randomIdWithPrefix(this.random, this.id, index);
      // One path: a refresh only fills the bucket, and every contact it meets is admitted by a
      // fresh dial of a key-derived id, so d paths would multiply the network's steady upkeep
      // cost by d without protecting anything a value lookup needs.
      if (this.table.size > 0)
        await this.lookup(target, 'find_node', this.shutdown.signal, undefined, 1).catch(() => undefined);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }
}

function contactFor(b: OverlayBootstrap): OverlayContact {
  return { id: overlayIdOf(b.publicKey), address: b.address, key: b.publicKey };
}
