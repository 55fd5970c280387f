/** Storage flags shared by long-running commands: SQLite in a data dir by default, Redis, or memory. */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SQLITE_FILE_NAME, type Storage, openStorage } from '../storage/open.js';
import { UsageError } from './args.js';

export const STORAGE_OPTIONS = {
  'data-dir': { type: 'string' },
  redis: { type: 'string' },
  namespace: { type: 'string' },
  memory: { type: 'boolean' },
} as const;

export const STORAGE_HELP = `Storage (items, peers and the routing table):
      --data-dir DIR         SQLite database in DIR (default ~/.kadmium); survives restarts
      --redis URL            use a Redis server instead (shared by several nodes on one host)
      --namespace NAME       Redis key namespace (default "mainline")
      --memory               keep nothing on disk`;

export interface StorageFlags {
  'data-dir'?: string | undefined;
  redis?: string | undefined;
  namespace?: string | undefined;
  memory?: boolean | undefined;
}

export function describeStorage(flags: StorageFlags): string {
  if (flags.memory) return 'memory (nothing persisted)';
  if (flags.redis) return `redis ${flags.redis} namespace ${flags.namespace ?? 'mainline'}`;
  return `sqlite ${join(flags['data-dir'] ?? defaultDataDir(), SQLITE_FILE_NAME)}`;
}

export function defaultDataDir(): string {
  return join(homedir(), '.kadmium');
}

export async function openStorageFromFlags(flags: StorageFlags): Promise<Storage> {
  const chosen = [flags.memory, flags.redis !== undefined, flags['data-dir'] !== undefined].filter(
    Boolean,
  ).length;
  if (chosen > 1) throw new UsageError('choose one of --data-dir, --redis and --memory');
  if (flags.memory) return openStorage({ kind: 'memory' });
  if (flags.redis !== undefined) {
    if (!/^rediss?:\/\//.test(flags.redis))
      throw new UsageError(`--redis must be a URL like redis://127.0.0.1:6379, got "${flags.redis}"`);
    return openStorage({ kind: 'redis', url: flags.redis, namespace: flags.namespace ?? 'mainline' });
  }
  const dir = flags['data-dir'] ?? defaultDataDir();
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot create data dir ${dir}: ${(err as Error).message}`);
  }
  return openStorage({ kind: 'sqlite', path: join(dir, SQLITE_FILE_NAME) });
}
