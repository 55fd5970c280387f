/**
 * Admission at the storage caps: announces and immutable puts per second while the store fills
 * (below the cap) and once it is full, on each backend. Two at-cap cases: every stored record is
 * still live, so each new one evicts the stalest (an attacker filling the store), and every stored
 * record has expired, so new ones find room by sweeping (a busy node after a quiet spell).
 * Goal: at the cap >= 0.5x below it.
 *
 * Run alone: `node dist/bench/storage-cap.js [cap] [backends]` (or `npm run bench -- --only
 * storage-cap`), e.g.
 * `node dist/bench/storage-cap.js 20000 memory,sqlite`. The bench runner imports `benchStorageCap`.
 * Without a `redisUrl` it starts a throwaway redis-server on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DEFAULT_ITEM_LIMITS,
  type ItemBackend,
  ItemStore,
  MemoryItemBackend,
} from '../src/storage/item-store.js';
import {
  BackedPeerStore,
  DEFAULT_PEER_LIMITS,
  MemoryPeerBackend,
  type PeerBackend,
} from '../src/storage/peer-store.js';
import type { Address } from '../src/transport/address.js';
import { encode } from '../src/wire/bencode.js';
import { type RedisServer, startRedisServer } from '../test/storage/redis-server.js';
import { num, ratio, table } from './format.js';

export type CapBackendName = 'memory' | 'sqlite' | 'redis';

export interface CapBenchRow {
  backend: CapBackendName;
  operation: 'announce' | 'put';
  /** Records held at the cap. */
  cap: number;
  /** Operations per second while filling from empty to the cap. */
  belowPerSec: number;
  /** At the cap, every held record live: each operation evicts the stalest. */
  atCapLivePerSec: number;
  /** At the cap, every held record expired: operations find room by sweeping. */
  atCapExpiredPerSec: number;
}

export interface CapBenchOptions {
  /** Records held at the cap (default 20,000; Redis at most REDIS_CAP). */
  cap?: number;
  backends?: CapBackendName[];
  /** An existing Redis to use; otherwise a throwaway redis-server is started. */
  redisUrl?: string;
}

/** Operations timed in each at-cap case, at most (and at most half the cap). */
const AT_CAP_OPS = 10_000;
/** Untimed operations at the start of each phase (at most a quarter of it). */
const WARMUP = 1_000;
/** Redis's cap, at most: one store is a round trip (~0.3 ms), so a larger fill takes too long. */
const REDIS_CAP = 5_000;
/** Wall time one at-cap case may take, ms (the code before the fix ran 10-50 ms per operation). */
const AT_CAP_BUDGET_MS = 3_000;
const TTL_MS = 30 * 60_000;
/** Peers per infohash: well under the per-infohash cap, so only the total cap is exercised. */
const PEERS_PER_INFOHASH = 10;

interface Backends {
  peers: PeerBackend;
  items: ItemBackend;
  close(): Promise<void>;
}

export async function benchStorageCap(options: CapBenchOptions = {}): Promise<CapBenchRow[]> {
  const cap = options.cap ?? 20_000;
  const backends = options.backends ?? ['memory', 'sqlite', 'redis'];
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-bench-cap-'));
  let server: RedisServer | undefined;
  const rows: CapBenchRow[] = [];
  try {
    for (const backend of backends) {
      let open: () => Promise<Backends>;
      if (backend === 'memory') {
        open = async () => ({
          peers: new MemoryPeerBackend(),
          items: new MemoryItemBackend(),
          close: async () => undefined,
        });
      } else if (backend === 'sqlite') {
        const { SqliteStorage } = await import('../src/storage/sqlite.js');
        let n = 0;
        open = async () => new SqliteStorage(join(dir, `cap-${++n}.db`));
      } else {
        const { RedisStorage } = await import('../src/storage/redis.js');
        let url = options.redisUrl;
        if (!url) {
          server = await startRedisServer();
          url = server.url;
        }
        const redisUrl = url;
        let n = 0;
        open = () =>
          RedisStorage.open({ url: redisUrl, namespace: `kadmium:bench-cap-${process.pid}-${++n}:` });
      }
      const held = backend === 'redis' ? Math.min(cap, REDIS_CAP) : cap;
      rows.push(await benchPeers(backend, open, held));
      rows.push(await benchItems(backend, open, held));
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function peerAddress(i: number): Address {
  return { host: `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`, port: 6881 + (i >>> 24), family: 4 };
}

function infohash(i: number): Uint8Array {
  const out = new Uint8Array(20);
  new DataView(out.buffer).setUint32(0, Math.floor(i / PEERS_PER_INFOHASH));
  out[19] = 0xab;
  return out;
}

/**
 * Runs `op(i)` for i in [from, from + count) one after another: the first WARMUP untimed (the
 * JIT and the collector settle after a change of phase), the rest timed for at most `budgetMs`.
 * Returns timed operations per second.
 */
async function rate(
  from: number,
  count: number,
  budgetMs: number,
  op: (i: number) => Promise<void>,
): Promise<number> {
  const warmup = Math.min(WARMUP, Math.floor(count / 4));
  for (let i = 0; i < warmup; i++) await op(from + i);
  const start = performance.now();
  let done = warmup;
  while (done < count) {
    await op(from + done);
    done++;
    if ((done & 63) === 0 && performance.now() - start > budgetMs) break;
  }
  return Math.round((done - warmup) / ((performance.now() - start) / 1000));
}

async function benchPeers(
  backend: CapBackendName,
  open: () => Promise<Backends>,
  cap: number,
): Promise<CapBenchRow> {
  const b = await open();
  const store = new BackedPeerStore(b.peers, { ...DEFAULT_PEER_LIMITS, ttlMs: TTL_MS, maxPeers: cap });
  try {
    // Each announce one ms after the last, so every new one is the freshest.
    const announce = (offset: number) => (i: number) =>
      store.announce(infohash(i), peerAddress(i), false, offset + i);
    return {
      backend,
      operation: 'announce',
      cap,
      ...(await phases(cap, announce, async () => (await store.counts()).peers)),
    };
  } finally {
    await b.close();
  }
}

async function benchItems(
  backend: CapBackendName,
  open: () => Promise<Backends>,
  cap: number,
): Promise<CapBenchRow> {
  const b = await open();
  const store = new ItemStore(b.items, { ...DEFAULT_ITEM_LIMITS, ttlMs: TTL_MS, maxItems: cap });
  try {
    const put = (offset: number) => async (i: number) => {
      const out = await store.put({ v: encode(Buffer.from(`cap-bench-item-${i}`)) }, offset + i);
      if (!out.ok) throw new Error(`bench put refused: ${out.message}`);
    };
    return { backend, operation: 'put', cap, ...(await phases(cap, put, () => store.count())) };
  } finally {
    await b.close();
  }
}

/**
 * Fill from empty to the cap (timed: below the cap), then time operations on fresh keys at the
 * cap with every held record live, then with the clock moved past every held record's expiry.
 */
async function phases(
  cap: number,
  op: (offset: number) => (i: number) => Promise<void>,
  held: () => Promise<number>,
): Promise<Pick<CapBenchRow, 'belowPerSec' | 'atCapLivePerSec' | 'atCapExpiredPerSec'>> {
  const ops = Math.min(AT_CAP_OPS, Math.ceil(cap / 2));
  const belowPerSec = await rate(0, cap, Number.POSITIVE_INFINITY, op(0));
  const atCapLivePerSec = await rate(cap, ops, AT_CAP_BUDGET_MS, op(0));
  const from = cap + ops;
  const atCapExpiredPerSec = await rate(from, ops, AT_CAP_BUDGET_MS, op(TTL_MS + from));
  const n = await held();
  if (n > cap) throw new Error(`the store holds ${n} records, over its cap of ${cap}`);
  return { belowPerSec, atCapLivePerSec, atCapExpiredPerSec };
}

export function capTable(rows: CapBenchRow[], withCap = false): string {
  return table([
    [
      'backend',
      ...(withCap ? ['cap'] : []),
      'operation',
      'below cap /s',
      'at cap, live /s',
      'ratio',
      'at cap, expired /s',
      'ratio',
    ],
    ...rows.map((r) => [
      r.backend,
      ...(withCap ? [num(r.cap)] : []),
      r.operation,
      num(r.belowPerSec),
      num(r.atCapLivePerSec),
      ratio(r.atCapLivePerSec, r.belowPerSec),
      num(r.atCapExpiredPerSec),
      ratio(r.atCapExpiredPerSec, r.belowPerSec),
    ]),
  ]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cap = Number(process.argv[2] ?? 20_000);
  const backends = (process.argv[3]?.split(',') ?? ['memory', 'sqlite', 'redis']) as CapBackendName[];
  benchStorageCap({ cap, backends }).then(
    (rows) => {
      console.log(
        `storage caps: ${cap} records held at the cap (Redis: ${Math.min(cap, REDIS_CAP)}), one operation at a time`,
      );
      console.log(capTable(rows));
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
