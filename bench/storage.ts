/**
 * Storage throughput: sequential BEP 44 immutable puts (validation + store) per second on each
 * backend, the way a node stores them: one awaited put after another.
 *
 * Run alone: `node dist/bench/storage.js [count]` prints a table. The bench runner imports
 * `benchStorage`. Without a `redisUrl` it starts a throwaway redis-server on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStorage, type Storage } from '../src/storage/open.js';
import { encode } from '../src/wire/bencode.js';
import { type RedisServer, startRedisServer } from '../test/storage/redis-server.js';

export type StorageBackendName = 'memory' | 'sqlite' | 'redis';

export interface StorageBenchRow {
  backend: StorageBackendName;
  itemsPerSec: number;
}

export interface StorageBenchOptions {
  /** Puts per backend (default 5,000). */
  count?: number;
  backends?: StorageBackendName[];
  /** An existing Redis to use; otherwise a throwaway redis-server is started. */
  redisUrl?: string;
}

const WARMUP = 200;

export async function benchStorage(options: StorageBenchOptions = {}): Promise<StorageBenchRow[]> {
  const count = options.count ?? 5_000;
  const backends = options.backends ?? ['memory', 'sqlite', 'redis'];
  const values = Array.from({ length: WARMUP + count }, (_, i) => encode(Buffer.from(`bench-item-${i}`)));
  const itemLimits = { maxItems: WARMUP + count };
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-bench-storage-'));
  let server: RedisServer | undefined;
  const rows: StorageBenchRow[] = [];
  try {
    for (const backend of backends) {
      let storage: Storage;
      if (backend === 'memory') {
        storage = await openStorage({ kind: 'memory', itemLimits });
      } else if (backend === 'sqlite') {
        storage = await openStorage({ kind: 'sqlite', path: join(dir, 'bench.db'), itemLimits });
      } else {
        let url = options.redisUrl;
        if (!url) {
          server = await startRedisServer();
          url = server.url;
        }
        storage = await openStorage({
          kind: 'redis',
          url,
          namespace: `kadmium:bench-${process.pid}-${Date.now()}:`,
          itemLimits,
        });
      }
      try {
        rows.push({ backend, itemsPerSec: await measure(storage, values, count) });
      } finally {
        await storage.close();
      }
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function measure(storage: Storage, values: Uint8Array[], count: number): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await put(storage, values[i] as Uint8Array, i);
  const start = process.hrtime.bigint();
  for (let i = WARMUP; i < WARMUP + count; i++) await put(storage, values[i] as Uint8Array, i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return Math.round(count / seconds);
}

async function put(storage: Storage, v: Uint8Array, now: number): Promise<void> {
  const out = await storage.items.put({ v }, now);
  if (!out.ok) throw new Error(`bench put refused: ${out.message}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? 5_000);
  benchStorage({ count }).then(
    (rows) => {
      console.log(`storage: ${count} sequential immutable puts per backend`);
      console.log(`${'backend'.padEnd(8)}  ${'items/s'.padStart(10)}`);
      for (const row of rows)
        console.log(`${row.backend.padEnd(8)}  ${String(row.itemsPerSec).padStart(10)}`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
