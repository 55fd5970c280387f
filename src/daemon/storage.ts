/**
 * Where the daemon's node keeps what others store with it. `openStorage` picks a backend by the
 * `storage.backend` setting; a backend is a factory from the data dir to a `DaemonStorage`.
 *
 * The seam for the SQLite backend (being built in src/storage/): add
 *   sqlite: (dir) => openSqliteStorage(join(dir, 'kadmium.sqlite'))
 * to STORAGE_BACKENDS, returning its PeerStore (and, with BEP 44, its item store). Nothing
 * else in the daemon changes: statistics read `peers.counts()` and `itemCount()`.
 */
import { MemoryPeerStore, type PeerStore } from '../storage/peer-store.js';

export interface DaemonStorage {
  /** What is in use, for logs and /api/status ("memory", "sqlite at /path"). */
  readonly description: string;
  readonly peers: PeerStore;
  /** Count of stored BEP 44 items, once an item store exists. */
  readonly itemCount?: () => Promise<number>;
  /** Flush and close. */
  close(): Promise<void>;
}

export type StorageFactory = (dataDir: string) => Promise<DaemonStorage>;

export const STORAGE_BACKENDS: Readonly<Record<string, StorageFactory>> = {
  /** Process memory: announces are lost on restart (the BEP 5 TTL is 30 minutes anyway). */
  memory: async () => {
    const peers = new MemoryPeerStore();
    return { description: 'memory', peers, close: () => peers.close() };
  },
};

export class UnknownStorageError extends Error {}

export async function openStorage(
  backend: string,
  dataDir: string,
  backends: Readonly<Record<string, StorageFactory>> = STORAGE_BACKENDS,
): Promise<DaemonStorage> {
  const factory = backends[backend];
  if (!factory) {
    throw new UnknownStorageError(
      `storage.backend: unknown backend "${backend}"; available: ${Object.keys(backends).join(', ')}`,
    );
  }
  return factory(dataDir);
}
