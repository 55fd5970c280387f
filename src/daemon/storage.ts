/**
 * Where the daemon's node keeps what others store with it. `openDaemonStorage` picks a backend by
 * the `storage.backend` setting; a backend is a factory from the data dir to a `DaemonStorage`.
 * Both wrap storage/open.ts; another backend (e.g. Redis, which needs a URL setting) is one more
 * entry in STORAGE_BACKENDS. Statistics read `peers.counts()` and `itemCount()`.
 */
import { join } from 'node:path';
import type { ItemStore } from '../storage/item-store.js';
import { openStorage, type Storage } from '../storage/open.js';
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

export type StorageFactory = (dataDir: string) => Promise<DaemonStorage>;

export const SQLITE_FILE = 'kadmium.sqlite';

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
  sqlite: async (dir) => {
    const path = join(dir, SQLITE_FILE);
    return wrap(`sqlite ${path}`, await openStorage({ kind: 'sqlite', path }));
  },
  /** Process memory: everything stored is lost on restart. */
  memory: async () => wrap('memory', await openStorage({ kind: 'memory' })),
};

export async function openDaemonStorage(
  backend: string,
  dataDir: string,
  backends: Readonly<Record<string, StorageFactory>> = STORAGE_BACKENDS,
): Promise<DaemonStorage> {
  const factory = backends[backend];
  if (!factory) {
    throw new Error(
      `storage.backend: unknown backend "${backend}"; available: ${Object.keys(backends).join(', ')}`,
    );
  }
  return factory(dataDir);
}
