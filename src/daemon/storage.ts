/**
 * Where the daemon's node keeps what others store with it. `openDaemonStorage` picks a backend by
 * the `storage.backend` setting; a backend is a factory from the data dir to a `DaemonStorage`.
 * All wrap storage/open.ts; another backend is one more entry in STORAGE_BACKENDS. Statistics read `peers.counts()` and `itemCount()`.
 */
import { join } from 'node:path';
import type { ItemStore } from '../storage/item-store.js';
import type { BreakerChange } from '../storage/breaker.js';
import { openStorage, SQLITE_FILE_NAME, type Storage } from '../storage/open.js';
import type { PeerStore } from '../storage/peer-store.js';

export interface DaemonStorage {
  /** What is in use, for logs and /api/status ("memory", "sqlite /path"). */
  readonly description: string;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  readonly itemCount: () => Promise<number>;
  /** Flush and close. */
  close(): Promise<void>;
}

/** Backend settings from the config (`storage.*`). */
export interface StorageSettings {
  redisUrl: string;
  namespace: string;
  /** How long peers announced by others are kept (`privacy.peer_ttl_s`); default the store's. */
  peerTtlMs?: number;
  /** Told when the Redis items' circuit breaker opens (serving from memory) or closes (resynced). */
  onBreaker?: (change: BreakerChange) => void;
}

export type StorageFactory = (dataDir: string, settings: StorageSettings) => Promise<DaemonStorage>;

export const SQLITE_FILE = SQLITE_FILE_NAME;

function peerLimits(ttlMs: number | undefined) {
  return ttlMs === undefined ? {} : { peerLimits: { ttlMs } };
}

function wrap(description: string, storage: Storage): DaemonStorage {
  return {
    description,
    peers: storage.peers,
    items: storage.items,
    itemCount: () => storage.items.count(),
    close: () => storage.close(),
  };
}

export const STORAGE_BACKENDS: Readonly<Record<string, StorageFactory>> = {
  /** A SQLite file in the data dir: announces and items survive restarts. */
  sqlite: async (dir, { peerTtlMs }) => {
    const path = join(dir, SQLITE_FILE);
    return wrap(`sqlite ${path}`, await openStorage({ kind: 'sqlite', path, ...peerLimits(peerTtlMs) }));
  },
  /** Process memory: everything stored is lost on restart. */
  memory: async (_dir, { peerTtlMs }) =>
    wrap('memory', await openStorage({ kind: 'memory', ...peerLimits(peerTtlMs) })),
  /** A Redis server shared by several nodes on one host; keys namespaced per network. */
  redis: async (_dir, { redisUrl, namespace, peerTtlMs, onBreaker }) => {
    if (!/^rediss?:\/\//.test(redisUrl)) {
      throw new Error(
        `storage.redis_url: the redis backend needs a URL like redis://127.0.0.1:6379, got ${JSON.stringify(redisUrl)}`,
      );
    }
    return wrap(
      `redis ${redisUrl} namespace ${namespace}`,
      await openStorage({ kind: 'redis', url: redisUrl, namespace, onBreaker, ...peerLimits(peerTtlMs) }),
    );
  },
};

export async function openDaemonStorage(
  backend: string,
  dataDir: string,
  backends: Readonly<Record<string, StorageFactory>> = STORAGE_BACKENDS,
  settings: StorageSettings = { redisUrl: '', namespace: 'mainline' },
): Promise<DaemonStorage> {
  const factory = backends[backend];
  if (!factory) {
    throw new Error(
      `storage.backend: unknown backend "${backend}"; available: ${Object.keys(backends).join(', ')}`,
    );
  }
  return factory(dataDir, settings);
}
