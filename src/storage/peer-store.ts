/**
 * Peers announced for infohashes (BEP 5 announce_peer), with a TTL and caps per infohash and in
 * total. The store is async so persistent and shared backends (SQLite, Redis) fit behind it.
 *
 * Policy (TTL, caps, which peer to evict) lives here; a backend only stores, loads, lists and
 * expires.
 */
import type { Address } from '../transport/address.js';
import { toHex } from '../util/bytes.js';

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
  /** Up to `max` live peers of one address family, freshest first. */
  peers(infohash: Uint8Array, max: number, family: 4 | 6, now: number): Promise<StoredPeer[]>;
  /** Drop expired peers; returns how many went. */
  expire(now: number): Promise<number>;
  /** Live counts, for statistics. */
  counts(): Promise<{ infohashes: number; peers: number }>;
  /** Infohashes held, for BEP 51 sampling (at most `max`). */
  infohashes(max: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

interface Entry {
  infohash: Uint8Array;
  /** Keyed by "host:port"; Map keeps insertion order, so re-announce = delete + set = freshest last. */
  peers: Map<string, StoredPeer>;
}

/** The library default: everything in process memory. */
export class MemoryPeerStore implements PeerStore {
  private readonly byInfohash = new Map<string, Entry>();
  private total = 0;

  constructor(private readonly limits: PeerStoreLimits = DEFAULT_PEER_LIMITS) {}

  async announce(infohash: Uint8Array, address: Address, seed: boolean, now: number): Promise<void> {
    const key = toHex(infohash);
    let entry = this.byInfohash.get(key);
    if (!entry) {
      entry = { infohash: infohash.slice(), peers: new Map() };
      this.byInfohash.set(key, entry);
    }
    const peerKey = `${address.host}:${address.port}`;
    if (entry.peers.delete(peerKey)) this.total--;
    if (entry.peers.size >= this.limits.maxPeersPerInfohash) this.dropOldest(entry, key);
    if (this.total >= this.limits.maxPeers) this.dropGlobalOldest(now);
    entry.peers.set(peerKey, { address, seed, expiresAt: now + this.limits.ttlMs });
    this.total++;
  }

  async peers(infohash: Uint8Array, max: number, family: 4 | 6, now: number): Promise<StoredPeer[]> {
    const entry = this.byInfohash.get(toHex(infohash));
    if (!entry) return [];
    const out: StoredPeer[] = [];
    // Newest are last in insertion order: walk from the end.
    const all = [...entry.peers.values()];
    for (let i = all.length - 1; i >= 0 && out.length < max; i--) {
      const peer = all[i] as StoredPeer;
      if (peer.expiresAt > now && peer.address.family === family) out.push(peer);
    }
    return out;
  }

  async expire(now: number): Promise<number> {
    let removed = 0;
    for (const [key, entry] of this.byInfohash) {
      for (const [peerKey, peer] of entry.peers) {
        if (peer.expiresAt <= now) {
          entry.peers.delete(peerKey);
          removed++;
        }
      }
      if (entry.peers.size === 0) this.byInfohash.delete(key);
    }
    this.total -= removed;
    return removed;
  }

  async counts(): Promise<{ infohashes: number; peers: number }> {
    return { infohashes: this.byInfohash.size, peers: this.total };
  }

  async infohashes(max: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const entry of this.byInfohash.values()) {
      if (out.length >= max) break;
      out.push(entry.infohash);
    }
    return out;
  }

  async close(): Promise<void> {}

  private dropOldest(entry: Entry, key: string): void {
    const oldest = entry.peers.keys().next();
    if (oldest.done) return;
    entry.peers.delete(oldest.value);
    this.total--;
    if (entry.peers.size === 0) this.byInfohash.delete(key);
  }

  /** Over the total cap: first sweep expired peers; if still full, evict the oldest of the largest swarm. */
  private dropGlobalOldest(now: number): void {
    let largest: [string, Entry] | undefined;
    for (const [key, entry] of this.byInfohash) {
      for (const [peerKey, peer] of entry.peers) {
        if (peer.expiresAt <= now) {
          entry.peers.delete(peerKey);
          this.total--;
        }
      }
      if (!largest || entry.peers.size > largest[1].peers.size) largest = [key, entry];
    }
    if (this.total >= this.limits.maxPeers && largest) this.dropOldest(largest[1], largest[0]);
  }
}
