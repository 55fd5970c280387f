/**
 * Discovery over the overlay alone (spec §5.1's client interface, plus transports and services):
 * records live under their subject's key with salts `dmsg`, `tp` (+ `tp:N` chunks) and `svc`.
 *
 * Reads take the subject's own item or a mirror (a discovery server's copy) when the record
 * inside verifies for the subject (entries and transports are signed by their subjects; services
 * only by the request that registered them, so their mirrors are taken only from trusted keys).
 * A lookup that misses asks the known full nodes directly, one GetValue each.
 *
 * Writes publish under this node's own key: an entry's `static` must be this node's key. What was
 * published is re-announced every `reannounceMs`, well before public items expire (2 h); the seq
 * comes from the node (clock, last used, network's + 1), so a restarted publisher is never refused.
 */
import type { OverlayBootstrap, OverlayNode } from '../node/overlay-node.js';
import {
  decodeDmsgValue,
  decodeSvcValue,
  decodeTpChunk,
  DMSG_SALT,
  encodeDmsgValue,
  encodeSvcValue,
  encodeTpChunks,
  SVC_SALT,
  tpSalt,
} from '../protocols/discovery/dht-values.js';
import { type DiscEntry, signEntry } from '../protocols/discovery/entry.js';
import type { Service } from '../protocols/discovery/service.js';
import { formatUuid, type SignedTransport } from '../protocols/discovery/transport-entry.js';
import { isTombstone, itemTarget, type MutableItem, verifyItem } from '../protocols/overlay/item.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { type Clock, every, systemClock, type Timer } from '../util/clock.js';
import { InvalidArgumentError } from '../util/errors.js';

/** Re-announce published records this often (public items live 2 h on other nodes). */
export const REANNOUNCE_MS = 30 * 60_000;
/** Server entries kept in the cache, and for how long. */
export const SERVER_CACHE_SIZE = 1_024;
export const SERVER_CACHE_MS = 10 * 60_000;
/** Local items scanned when a full node fills its server cache. */
const LOCAL_SCAN = 100_000;

export interface DhtDiscoveryOptions {
  node: OverlayNode;
  /** Hex keys of discovery servers whose service mirrors are believed. */
  trustedMirrors?: Iterable<string>;
  /** Full nodes asked directly when a lookup misses. */
  fullNodes?: OverlayBootstrap[];
  clock?: Clock;
  reannounceMs?: number;
  /** Ask only the full nodes, no lookup (the simulator uses it to tell which step answered). */
  fullNodesOnly?: boolean;
}

const enc = new TextEncoder();

export class DhtDiscovery {
  readonly node: OverlayNode;
  private readonly clock: Clock;
  private readonly trusted: Set<string>;
  private readonly fullNodes: OverlayBootstrap[];
  private readonly fullNodesOnly: boolean;
  private readonly servers = new Map<string, { entry: DiscEntry; at: number }>();
  /** What this node published, re-announced on the timer: salt -> value. */
  private readonly published = new Map<string, Uint8Array>();
  private timer: Timer | undefined;

  constructor(options: DhtDiscoveryOptions) {
    this.node = options.node;
    this.clock = options.clock ?? systemClock;
    this.trusted = new Set(options.trustedMirrors ?? []);
    this.fullNodes = options.fullNodes ?? [];
    this.fullNodesOnly = options.fullNodesOnly ?? false;
    this.timer = every(this.clock, options.reannounceMs ?? REANNOUNCE_MS, () => void this.reannounce());
  }

  /** Read one record: lookup first, then each full node; `accept` checks the value for the subject. */
  private async read(
    subject: Uint8Array,
    salt: string,
    accept: (item: MutableItem) => boolean,
  ): Promise<MutableItem | undefined> {
    const s = enc.encode(salt);
    const got = this.fullNodesOnly
      ? undefined
      : await this.node.get(subject, { salt: s, acceptMirror: accept }).catch(() => undefined);
    // Own items pass node.get's checks without `accept`; run it on every item to read its value.
    if (got && !got.deleted && accept(got.item)) return got.item;
    if (got?.deleted) return undefined;
    const target = itemTarget(subject, s);
    for (const peer of this.fullNodes) {
      const item = await this.node.getValueFrom(peer, target).catch(() => undefined);
      if (!item || isTombstone(item)) continue;
      const own = verifyItem(item, this.node.store.options.limits, target).ok;
      if ((own || verifyItem(item, this.node.store.options.limits).ok) && accept(item)) return item;
    }
    return undefined;
  }

  // --- dmsg (disc.APIClient) ----------------------------------------------------------------

  async entry(pk: Uint8Array): Promise<DiscEntry | undefined> {
    let entry: DiscEntry | undefined;
    await this.read(pk, DMSG_SALT, (item) => (entry = decodeDmsgValue(item.v, pk)) !== undefined);
    if (entry?.server) this.cacheServer(entry);
    return entry;
  }

  private cacheServer(entry: DiscEntry): void {
    const key = toHex(entry.static);
    this.servers.delete(key);
    if (this.servers.size >= SERVER_CACHE_SIZE)
      this.servers.delete(this.servers.keys().next().value as string);
    this.servers.set(key, { entry, at: this.clock.now() });
  }

  /** Server entries this node knows: the cache, filled from lookups and (on a full node) local items. */
  async allServers(): Promise<DiscEntry[]> {
    const now = this.clock.now();
    if (this.node.store.options.fullNode) {
      for (const entry of await this.localEntries()) if (entry.server) this.cacheServer(entry);
    }
    const out: DiscEntry[] = [];
    for (const [key, { entry, at }] of this.servers) {
      if (now - at > SERVER_CACHE_MS) this.servers.delete(key);
      else out.push(entry);
    }
    return out;
  }

  async availableServers(): Promise<DiscEntry[]> {
    return (await this.allServers()).filter((e) => (e.server?.availableSessions ?? 0) > 0);
  }

  /** Entries held locally (a full node holds them all); empty on a regular node's small share. */
  async localEntries(): Promise<DiscEntry[]> {
    const page = await this.node.store.getItems(enc.encode(DMSG_SALT), 0n, LOCAL_SCAN, this.clock.now());
    const out: DiscEntry[] = [];
    for (const { item } of page.items) {
      const text = new TextDecoder().decode(item.v);
      const staticHex = /"static":"([0-9a-f]{66})"/.exec(text)?.[1];
      if (!staticHex) continue;
      const entry = decodeDmsgValue(item.v, Uint8Array.from(Buffer.from(staticHex, 'hex')));
      if (entry) out.push(entry);
    }
    return out;
  }

  /** Publish this node's own entry (its `static` must be this node's key). */
  async postEntry(entry: DiscEntry): Promise<void> {
    if (!bytesEqual(entry.static, this.node.publicKey)) {
      throw new InvalidArgumentError(
        "an entry is published under its own key: post it from the node whose key is the entry's static key",
      );
    }
    await this.publish(DMSG_SALT, encodeDmsgValue(entry));
  }

  /** dmsg's PutEntry: next sequence, `nowNs` as timestamp, signed by `signer`, published. */
  async putEntry(
    signer: { publicKey: Uint8Array; sign(p: Uint8Array): Uint8Array },
    entry: DiscEntry,
    nowNs: bigint,
  ): Promise<DiscEntry> {
    const next = signEntry({ ...entry, sequence: entry.sequence + 1n, timestamp: nowNs }, signer);
    await this.postEntry(next);
    return next;
  }

  async delEntry(): Promise<void> {
    this.published.delete(DMSG_SALT);
    await this.node.delete({ salt: enc.encode(DMSG_SALT) });
  }

  // --- transports --------------------------------------------------------------------------

  /** Every transport with this edge, from all chunks of its list. */
  async transportsByEdge(edge: Uint8Array): Promise<SignedTransport[]> {
    let first: ReturnType<typeof decodeTpChunk>;
    await this.read(edge, tpSalt(0), (item) => (first = decodeTpChunk(item.v, edge, 0)) !== undefined);
    if (!first) return [];
    const chunks = [first];
    const rest = await Promise.all(
      Array.from({ length: first.count - 1 }, async (_, i) => {
        let chunk: ReturnType<typeof decodeTpChunk>;
        await this.read(
          edge,
          tpSalt(i + 1),
          (item) => (chunk = decodeTpChunk(item.v, edge, i + 1)) !== undefined,
        );
        return chunk;
      }),
    );
    for (const c of rest) if (c) chunks.push(c);
    const byId = new Map<string, SignedTransport>();
    for (const c of chunks) for (const t of c.transports) byId.set(formatUuid(t.entry.id), t);
    return [...byId.values()];
  }

  /** Publish this node's whole transport list (it must be an edge of each). */
  async publishTransports(transports: readonly SignedTransport[]): Promise<void> {
    const mine = transports.filter((t) => t.entry.edges.some((e) => bytesEqual(e, this.node.publicKey)));
    const chunks = encodeTpChunks(this.node.publicKey, mine);
    await Promise.all(chunks.map((value, i) => this.publish(tpSalt(i), value)));
  }

  // --- services ----------------------------------------------------------------------------

  async services(pk: Uint8Array): Promise<Service[]> {
    let list: Service[] | undefined;
    await this.read(pk, SVC_SALT, (item) => {
      if (!bytesEqual(item.k, pk) && !this.trusted.has(toHex(item.k))) return false;
      return (list = decodeSvcValue(item.v, pk)) !== undefined;
    });
    return list ?? [];
  }

  async publishServices(services: readonly Service[]): Promise<void> {
    await this.publish(
      SVC_SALT,
      encodeSvcValue(services.filter((s) => bytesEqual(s.publicKey, this.node.publicKey))),
    );
  }

  // --- publishing --------------------------------------------------------------------------

  private async publish(salt: string, value: Uint8Array): Promise<void> {
    this.published.set(salt, value);
    await this.node.put(value, { salt: enc.encode(salt) });
  }

  /** Put everything published again (a fresh seq, the same value). */
  async reannounce(): Promise<number> {
    let done = 0;
    for (const [salt, value] of this.published) {
      await this.node.put(value, { salt: enc.encode(salt) }).then(
        () => done++,
        () => undefined,
      );
    }
    return done;
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
