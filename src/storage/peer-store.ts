/**
 * Peers announced for infohashes (BEP 5 announce_peer), with a TTL and caps per infohash and in
 * total. The store is async so persistent and shared backends (SQLite, Redis) fit behind it; the
 * one read on the get_peers serving path, `peers()`, answers synchronously when the backend can
 * (memory, SQLite), so serving a get_peers does not wait for the microtask queue.
 *
 * Policy (TTL, caps, which peer to evict) lives in `BackedPeerStore`; a `PeerBackend` only stores,
 * loads, lists and expires records.
 */
import { type Address, addressKey } from '../transport/address.js';
import { bytesToBinaryString } from '../util/bytes.js';
import { type MaybePromise, then } from '../util/maybe-promise.js';
import { ownMap, sharedEmptyMap } from '../util/shared-empty-map.js';
import { Capacity } from './capacity.js';
import { ExpiryHeap } from './expiry-heap.js';

export interface StoredPeer {
  readonly address: Address;
  /** BEP 33: the announcer is a seed. */
  readonly seed: boolean;
  /** Clock time (ms) after which the peer is gone. */
  readonly expiresAt: number;
}

export interface PeerStoreLimits {
  /** How long an announce is kept, ms (BEP 5 suggests 30 min). */
  ttlMs: number;
  /** Most peers kept for one infohash. */
  maxPeersPerInfohash: number;
  /** Most peers kept in total. */
  maxPeers: number;
}

export const DEFAULT_PEER_LIMITS: PeerStoreLimits = {
  ttlMs: 30 * 60_000,
  maxPeersPerInfohash: 200,
  maxPeers: 100_000,
};

export interface PeerStore {
  /** Record (or refresh) a peer for an infohash at clock time `now`. */
  announce(infohash: Uint8Array, address: Address, seed: boolean, now: number): Promise<void>;
  /** Up to `max` live peers of one address family, freshest first (synchronously when the store can). */
  peers(infohash: Uint8Array, max: number, family: 4 | 6, now: number): MaybePromise<StoredPeer[]>;
  /** Drop expired peers; returns how many went. */
  expire(now: number): Promise<number>;
  /** Live counts, for statistics. */
  counts(): Promise<{ infohashes: number; peers: number }>;
  /** Infohashes held, for BEP 51 sampling (at most `max`). */
  infohashes(max: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/** One stored announce, as a backend keeps it. (infohash, address) is the key. */
export interface PeerRecord {
  readonly infohash: Uint8Array;
  readonly address: Address;
  readonly seed: boolean;
  /** Clock time of the announce that stored it. */
  readonly storedAt: number;
  readonly expiresAt: number;
}

/**
 * Where peer records live. No policy: a backend keeps what it is given and answers queries about
 * it. "Stalest" means smallest expiresAt. Every backend keeps an expiry index (a heap in memory, an
 * SQLite index, a Redis sorted set), so finding the stalest record and deleting expired ones cost
 * O(log n) per record touched, never a pass over everything held.
 */
export interface PeerBackend {
  /**
   * Insert, or replace the record with the same infohash and address. Resolves true when the
   * record is new and false when it replaced one, so the policy keeps its count without asking.
   */
  store(record: PeerRecord): Promise<boolean>;
  /** The record for one (infohash, address), if held. */
  loadOne(infohash: Uint8Array, address: Address): Promise<PeerRecord | undefined>;
  /**
   * Every record held for an infohash, freshest first (expired ones included until expired).
   * Synchronous backends return the array itself: this read is on the get_peers serving path.
   */
  load(infohash: Uint8Array): MaybePromise<PeerRecord[]>;
  /** Up to `limit` records, stalest first: of one infohash when given, else of all. */
  list(limit: number, infohash?: Uint8Array): Promise<PeerRecord[]>;
  /**
   * Delete records with expiresAt <= until, stalest first, found through the expiry index: at most
   * `max` of them when given, else all. Returns how many went. A policy passes its clock time to
   * sweep what has expired, or a later time to evict the stalest live records.
   */
  expire(until: number, max?: number): Promise<number>;
  delete(infohash: Uint8Array, address: Address): Promise<boolean>;
  /** Records held for one infohash. */
  countFor(infohash: Uint8Array): Promise<number>;
  /** What is held in total. May cost a pass over every record (SQLite): not for every announce. */
  counts(): Promise<{ infohashes: number; peers: number }>;
  infohashes(max: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/**
 * The one PeerStore policy, over any backend:
 * - an announce lives `ttlMs` from its clock time `now`; a refresh never shortens a peer's life;
 * - at the per-infohash cap the stalest peer of that infohash makes room; at the total cap
 *   (`Capacity`, capacity.ts) expired peers are swept if the stalest has expired, else the
 *   stalest peer overall makes room, so an announce at the cap costs what one below it does;
 * - a fresher record is never dropped for a staler one: if the candidate to evict would outlive
 *   the incoming announce, the announce is the one not kept.
 */
export class BackedPeerStore implements PeerStore {
  private readonly capacity: Capacity<PeerRecord>;

  constructor(
    protected readonly backend: PeerBackend,
    protected readonly limits: PeerStoreLimits = DEFAULT_PEER_LIMITS,
  ) {
    this.capacity = new Capacity<PeerRecord>(
      {
        count: async () => (await backend.counts()).peers,
        stalest: async () => (await backend.list(1))[0],
        expire: (until, max) => backend.expire(until, max),
      },
      limits.maxPeers,
    );
  }

  async announce(infohash: Uint8Array, address: Address, seed: boolean, now: number): Promise<void> {
    const record: PeerRecord = { infohash, address, seed, storedAt: now, expiresAt: now + this.limits.ttlMs };
    const existing = await this.backend.loadOne(infohash, address);
    if (existing) {
      // Out-of-order announces (an older `now`) must not shorten a newer announce's life.
      if (existing.expiresAt > record.expiresAt) return;
      // A concurrent sweep may have removed it meanwhile: count it if it came back new.
      if (await this.backend.store(record)) this.capacity.added();
      return;
    }
    if ((await this.backend.countFor(infohash)) >= this.limits.maxPeersPerInfohash) {
      if (!(await this.makeRoomInSwarm(record))) return;
    }
    if (!(await this.capacity.admit(record, now))) return;
    if (await this.backend.store(record)) this.capacity.added();
  }

  peers(infohash: Uint8Array, max: number, family: 4 | 6, now: number): MaybePromise<StoredPeer[]> {
    if (max <= 0) return [];
    return then(this.backend.load(infohash), (records) => {
      const out: StoredPeer[] = [];
      for (const r of records) {
        if (r.expiresAt > now && r.address.family === family) {
          out.push({ address: r.address, seed: r.seed, expiresAt: r.expiresAt });
          if (out.length >= max) break;
        }
      }
      return out;
    });
  }

  expire(now: number): Promise<number> {
    return this.capacity.sweep(now);
  }

  counts(): Promise<{ infohashes: number; peers: number }> {
    return this.backend.counts();
  }

  infohashes(max: number): Promise<Uint8Array[]> {
    return this.backend.infohashes(max);
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /** Evict the stalest peer of the incoming one's infohash, unless it is fresher than `incoming`. */
  private async makeRoomInSwarm(incoming: PeerRecord): Promise<boolean> {
    const [stalest] = await this.backend.list(1, incoming.infohash);
    if (!stalest) return true;
    if (stalest.expiresAt > incoming.expiresAt) return false;
    if (await this.backend.delete(stalest.infohash, stalest.address)) this.capacity.removed(1);
    return true;
  }
}

interface Swarm {
  infohash: Uint8Array;
  /** Keyed by addressKey; Map keeps insertion order, so a re-store (delete + set) is freshest last. */
  peers: Map<string, PeerRecord>;
}

/**
 * Peers in process memory: one map of every record, indexed by expiry (expiry-heap.ts), and one
 * map per infohash. A swarm's insertion order stands for its freshest-first order on the get_peers
 * path (exact while announces arrive with non-decreasing `now`; readers filter expired peers).
 */
export class MemoryPeerBackend implements PeerBackend {
  // Made on the first store (util/shared-empty-map.ts): most nodes hold no peers.
  /** Keyed by the infohash as a one-char-per-byte string: half the size of hex, and quicker to build. */
  private swarms = sharedEmptyMap<string, Swarm>();
  /**
   * Every record, keyed "addressKey/infohash". Address keys hold no '/', so the key is unambiguous
   * whatever the infohash bytes.
   */
  private all = sharedEmptyMap<string, PeerRecord>();
  /** The expiry index over `all`, made on the first store. */
  private byExpiry: ExpiryHeap<PeerRecord> | undefined;

  async store(record: PeerRecord): Promise<boolean> {
    this.swarms = ownMap(this.swarms);
    this.all = ownMap(this.all);
    const ih = swarmKey(record.infohash);
    let swarm = this.swarms.get(ih);
    if (!swarm) {
      swarm = { infohash: new Uint8Array(record.infohash), peers: new Map() };
      this.swarms.set(ih, swarm);
    }
    const key = addressKey(record.address);
    const kept: PeerRecord = { ...record, infohash: swarm.infohash };
    swarm.peers.delete(key);
    swarm.peers.set(key, kept);
    const replaced = this.all.delete(`${key}/${ih}`);
    this.all.set(`${key}/${ih}`, kept);
    this.byExpiry ??= new ExpiryHeap();
    this.byExpiry.add(this.all, `${key}/${ih}`, kept);
    return !replaced;
  }

  async loadOne(infohash: Uint8Array, address: Address): Promise<PeerRecord | undefined> {
    return this.swarms.get(swarmKey(infohash))?.peers.get(addressKey(address));
  }

  load(infohash: Uint8Array): PeerRecord[] {
    const swarm = this.swarms.get(swarmKey(infohash));
    return swarm ? [...swarm.peers.values()].reverse() : [];
  }

  async list(limit: number, infohash?: Uint8Array): Promise<PeerRecord[]> {
    if (!infohash) return this.byExpiry?.list(this.all, limit) ?? [];
    // One swarm holds at most the per-infohash cap: sorting it is cheap and exact.
    const swarm = this.swarms.get(swarmKey(infohash));
    if (!swarm || limit <= 0) return [];
    return [...swarm.peers.values()].sort((a, b) => a.expiresAt - b.expiresAt).slice(0, limit);
  }

  async expire(now: number, max = Number.POSITIVE_INFINITY): Promise<number> {
    let removed = 0;
    // Stalest first through the index: a sweep costs what it deletes.
    for (let top = this.byExpiry?.peek(this.all); top && top.record.expiresAt <= now && removed < max;) {
      this.all.delete(top.key);
      this.byExpiry?.pop();
      // The key is "addressKey/infohash" and address keys hold no '/': no keys to rebuild.
      const slash = top.key.indexOf('/');
      this.removeFromSwarm(top.key.slice(slash + 1), top.key.slice(0, slash));
      removed++;
      top = this.byExpiry?.peek(this.all);
    }
    return removed;
  }

  async delete(infohash: Uint8Array, address: Address): Promise<boolean> {
    const ih = swarmKey(infohash);
    const key = addressKey(address);
    const found = this.all.delete(`${key}/${ih}`);
    if (found) this.removeFromSwarm(ih, key);
    return found;
  }

  async countFor(infohash: Uint8Array): Promise<number> {
    return this.swarms.get(swarmKey(infohash))?.peers.size ?? 0;
  }

  async counts(): Promise<{ infohashes: number; peers: number }> {
    return { infohashes: this.swarms.size, peers: this.all.size };
  }

  async infohashes(max: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const swarm of this.swarms.values()) {
      if (out.length >= max) break;
      out.push(swarm.infohash);
    }
    return out;
  }

  async close(): Promise<void> {}

  /** Remove one peer from its swarm, and the swarm itself when that empties it (no empty entries). */
  private removeFromSwarm(ih: string, key: string): void {
    const swarm = this.swarms.get(ih);
    if (!swarm) return;
    swarm.peers.delete(key);
    if (swarm.peers.size === 0) this.swarms.delete(ih);
  }
}

function swarmKey(infohash: Uint8Array): string {
  return bytesToBinaryString(infohash);
}

/** The library default: the one policy over process memory. */
export class MemoryPeerStore extends BackedPeerStore {
  constructor(limits: PeerStoreLimits = DEFAULT_PEER_LIMITS) {
    super(new MemoryPeerBackend(), limits);
  }
}
