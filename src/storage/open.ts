/**
 * One entry point for storage: pick a backend kind, get the three stores a node needs.
 */
import {
  DEFAULT_ITEM_LIMITS,
  type ItemBackend,
  ItemStore,
  type ItemStoreLimits,
  MemoryItemBackend,
} from './item-store.js';
import {
  BackedPeerStore,
  DEFAULT_PEER_LIMITS,
  MemoryPeerBackend,
  type PeerBackend,
  type PeerStore,
  type PeerStoreLimits,
} from './peer-store.js';
import { MemoryStateStore, type StateStore } from './state-store.js';

import { type BreakerChange, BreakerItemBackend, type Supersedes } from './breaker.js';
import { BreakerPeerBackend } from './peer-breaker.js';
import { type Clock, systemClock } from '../util/clock.js';

/** The SQLite file a node keeps in its data dir (CLI and daemon alike). */
export const SQLITE_FILE_NAME = 'kadmium.sqlite';

export type StorageOptions = (
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string; synchronous?: 'normal' | 'full' }
  | {
      kind: 'redis';
      url: string;
      namespace: string;
      /** Told when the items' circuit breaker opens or closes (breaker.ts). */
      onBreaker?: (change: BreakerChange) => void;
      /** Clock for the breaker's timeouts and probes (default the system clock). */
      clock?: Clock;
      /**
       * Which of two versions of an item a resync keeps when another node sharing the Redis
       * stored one while this node was cut off (default: BEP 44's higher seq).
       */
      supersedes?: Supersedes;
    }
) & {
  peerLimits?: Partial<PeerStoreLimits>;
  itemLimits?: Partial<ItemStoreLimits>;
};

export interface Storage {
  readonly peers: PeerStore;
  readonly items: ItemStore;
  readonly state: StateStore;
  /** Close all three stores and the connection or file behind them. */
  close(): Promise<void>;
}

/** Open storage of the given kind. Fails with code STORAGE_UNAVAILABLE when the backend cannot be reached. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const peerLimits = { ...DEFAULT_PEER_LIMITS, ...options.peerLimits };
  const itemLimits = { ...DEFAULT_ITEM_LIMITS, ...options.itemLimits };
  switch (options.kind) {
    case 'memory':
      return assemble(
        new MemoryPeerBackend(),
        new MemoryItemBackend(),
        new MemoryStateStore(),
        peerLimits,
        itemLimits,
      );
    case 'sqlite': {
      // Loaded on demand, so memory-only users never load the native SQLite module or the Redis client.
      const { SqliteStorage } = await import('./sqlite.js');
      const db = new SqliteStorage(
        options.path,
        options.synchronous ? { synchronous: options.synchronous } : {},
      );
      return assemble(db.peers, db.items, db.state, peerLimits, itemLimits);
    }
    case 'redis': {
      const { RedisStorage } = await import('./redis.js');
      const redis = await RedisStorage.open({ url: options.url, namespace: options.namespace });
      // Items and peers behind breakers: a Redis outage degrades to memory instead of failing
      // puts, gets, announces and get_peers.
      const clock = options.clock ?? systemClock;
      const items = new BreakerItemBackend(redis.items, clock, options.onBreaker, options.supersedes);
      const peers = new BreakerPeerBackend(redis.peers, clock, options.onBreaker);
      return assemble(peers, items, redis.state, peerLimits, itemLimits);
    }
  }
}

function assemble(
  peerBackend: PeerBackend,
  itemBackend: ItemBackend,
  state: StateStore,
  peerLimits: PeerStoreLimits,
  itemLimits: ItemStoreLimits,
): Storage {
  const peers = new BackedPeerStore(peerBackend, peerLimits);
  const items = new ItemStore(itemBackend, itemLimits);
  let closing: Promise<void> | undefined;
  return {
    peers,
    items,
    state,
    close() {
      closing ??= Promise.all([peers.close(), items.close(), state.close()]).then(() => undefined);
      return closing;
    },
  };
}

/**
 * Bare backends, without the BEP 44 item policy: for a protocol that applies its own (the
 * overlay's `OverlayStore`). Give it a store of its own — another SQLite file or Redis namespace
 * than the Mainline node's — so the two item sets never share a count or a cap.
 */
export interface Backends {
  readonly items: ItemBackend;
  readonly state: StateStore;
  close(): Promise<void>;
}

export async function openBackends(options: StorageOptions): Promise<Backends> {
  switch (options.kind) {
    case 'memory':
      return { items: new MemoryItemBackend(), state: new MemoryStateStore(), close: async () => {} };
    case 'sqlite': {
      const { SqliteStorage } = await import('./sqlite.js');
      const db = new SqliteStorage(
        options.path,
        options.synchronous ? { synchronous: options.synchronous } : {},
      );
      return { items: db.items, state: db.state, close: () => db.close() };
    }
    case 'redis': {
      const { RedisStorage } = await import('./redis.js');
      const redis = await RedisStorage.open({ url: options.url, namespace: options.namespace });
      // As for the Mainline stores: a Redis outage serves from memory and resyncs when it is back.
      const items = new BreakerItemBackend(
        redis.items,
        options.clock ?? systemClock,
        options.onBreaker,
        options.supersedes,
      );
      return {
        items,
        state: redis.state,
        close: async () => {
          await items.close();
          await redis.close();
        },
      };
    }
  }
}
