/**
 * Where the discovery server keeps its records: a few namespaces of string keys to JSON text, with
 * an optional expiry. SQLite (one file, the default) or a Redis shared by several servers.
 *
 * Read-modify-write sequences (an entry's sequence rule, a nonce, an edge's transport list) are
 * serialised per key inside one server process (`DiscoveryState` holds the locks). Two servers on
 * one Redis can race on the same key; run one writer per dataset, or accept last-writer-wins.
 */
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { KadmiumError } from '../util/errors.js';

export type Namespace = 'entry' | 'tp' | 'tpe' | 'svc' | 'nonce';

export interface DiscoveryKv {
  readonly kind: 'sqlite' | 'redis' | 'memory';
  get(ns: Namespace, key: string, nowMs: number): Promise<string | undefined>;
  getMany(ns: Namespace, keys: readonly string[], nowMs: number): Promise<(string | undefined)[]>;
  /** `expiresAtMs` undefined: kept until deleted. */
  set(ns: Namespace, key: string, value: string, nowMs: number, expiresAtMs?: number): Promise<void>;
  delete(ns: Namespace, key: string): Promise<boolean>;
  /** Up to `limit` unexpired keys, in key order. */
  keys(ns: Namespace, limit: number, nowMs: number): Promise<string[]>;
  /** Throws when the store cannot be reached (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends KadmiumError {
  constructor(message: string, cause?: unknown) {
    super('STORE_UNAVAILABLE', message, { cause });
  }
}

export class SqliteKv implements DiscoveryKv {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts: {
    get: Database.Statement;
    set: Database.Statement;
    del: Database.Statement;
    keys: Database.Statement;
  };

  constructor(path: string) {
    try {
      this.db = new Database(path);
    } catch (err) {
      throw new StoreUnavailableError(
        `cannot open the SQLite file ${path}: ${(err as Error).message}; check the directory exists and is writable`,
        err,
      );
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS disc (ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, expires INTEGER, PRIMARY KEY (ns, k)) WITHOUT ROWID',
    );
    this.stmts = {
      get: this.db.prepare('SELECT v FROM disc WHERE ns = ? AND k = ? AND (expires IS NULL OR expires > ?)'),
      set: this.db.prepare('INSERT OR REPLACE INTO disc (ns, k, v, expires) VALUES (?, ?, ?, ?)'),
      del: this.db.prepare('DELETE FROM disc WHERE ns = ? AND k = ?'),
      keys: this.db.prepare(
        'SELECT k FROM disc WHERE ns = ? AND (expires IS NULL OR expires > ?) ORDER BY k LIMIT ?',
      ),
    };
  }

  get(ns: Namespace, key: string, nowMs: number): Promise<string | undefined> {
    const row = this.stmts.get.get(ns, key, nowMs) as { v: string } | undefined;
    return Promise.resolve(row?.v);
  }

  getMany(ns: Namespace, keys: readonly string[], nowMs: number): Promise<(string | undefined)[]> {
    return Promise.resolve(
      keys.map((k) => (this.stmts.get.get(ns, k, nowMs) as { v: string } | undefined)?.v),
    );
  }

  set(ns: Namespace, key: string, value: string, _nowMs: number, expiresAtMs?: number): Promise<void> {
    this.stmts.set.run(ns, key, value, expiresAtMs ?? null);
    return Promise.resolve();
  }

  delete(ns: Namespace, key: string): Promise<boolean> {
    return Promise.resolve(this.stmts.del.run(ns, key).changes > 0);
  }

  keys(ns: Namespace, limit: number, nowMs: number): Promise<string[]> {
    const rows = this.stmts.keys.all(ns, nowMs, limit) as { k: string }[];
    return Promise.resolve(rows.map((r) => r.k));
  }

  ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

/**
 * Keys `PREFIX:ns:key` with Redis's own expiry (PX), and a sorted set `PREFIX:ns` of the keys for
 * listing (members whose record expired are dropped when a listing finds them gone).
 */
export class RedisKv implements DiscoveryKv {
  readonly kind = 'redis';

  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static async open(url: string, prefix: string): Promise<RedisKv> {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5_000,
      maxRetriesPerRequest: 2,
      // Keep reconnecting while the server is down: a discovery server outlives a Redis restart.
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    let lastError: unknown;
    redis.on('error', (err) => {
      lastError = err;
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new StoreUnavailableError(
        `cannot reach Redis at ${url}: ${String(lastError ?? err)}; check the URL and that redis-server runs`,
        err,
      );
    }
    return new RedisKv(redis, prefix);
  }

  private key(ns: Namespace, key: string): string {
    return `${this.prefix}${ns}:${key}`;
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(`Redis ${what} failed: ${(err as Error).message}`, err);
    }
  }

  get(ns: Namespace, key: string): Promise<string | undefined> {
    return this.run('GET', async () => (await this.redis.get(this.key(ns, key))) ?? undefined);
  }

  getMany(ns: Namespace, keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run('MGET', async () =>
      (await this.redis.mget(...keys.map((k) => this.key(ns, k)))).map((v) => v ?? undefined),
    );
  }

  set(ns: Namespace, key: string, value: string, nowMs: number, expiresAtMs?: number): Promise<void> {
    return this.run('SET', async () => {
      const multi = this.redis.multi();
      if (expiresAtMs === undefined) multi.set(this.key(ns, key), value);
      else multi.set(this.key(ns, key), value, 'PX', Math.max(1, Math.ceil(expiresAtMs - nowMs)));
      multi.zadd(`${this.prefix}${ns}`, 0, key);
      await multi.exec();
    });
  }

  delete(ns: Namespace, key: string): Promise<boolean> {
    return this.run('DEL', async () => {
      const [[, removed] = [null, 0]] =
        ((await this.redis.multi().del(this.key(ns, key)).zrem(`${this.prefix}${ns}`, key).exec()) as [
          unknown,
          number,
        ][]) ?? [];
      return removed > 0;
    });
  }

  keys(ns: Namespace, limit: number): Promise<string[]> {
    return this.run('ZRANGE', async () => {
      const out: string[] = [];
      // Bounded: each round reads a page of the listing; stale members are removed as found.
      for (let offset = 0, rounds = 0; out.length < limit && rounds < 1_000; rounds++) {
        const page = await this.redis.zrange(`${this.prefix}${ns}`, String(offset), String(offset + 499));
        if (page.length === 0) break;
        const exists = await this.redis.mget(...page.map((k) => this.key(ns, k)));
        const stale = page.filter((_k, i) => exists[i] === null);
        for (let i = 0; i < page.length && out.length < limit; i++) {
          if (exists[i] !== null) out.push(page[i] as string);
        }
        if (stale.length > 0) await this.redis.zrem(`${this.prefix}${ns}`, ...stale);
        offset += page.length - stale.length;
      }
      return out;
    });
  }

  async ping(): Promise<void> {
    await this.run('PING', () => this.redis.ping());
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

/** Records in this process only (the simulator and tests); at most `maxKeys` per namespace. */
export class MemoryKv implements DiscoveryKv {
  readonly kind = 'memory';
  private readonly maps = new Map<Namespace, Map<string, { v: string; expires: number | undefined }>>();

  constructor(private readonly maxKeys = 1_000_000) {}

  private map(ns: Namespace): Map<string, { v: string; expires: number | undefined }> {
    let m = this.maps.get(ns);
    if (!m) this.maps.set(ns, (m = new Map()));
    return m;
  }

  get(ns: Namespace, key: string, nowMs: number): Promise<string | undefined> {
    const r = this.map(ns).get(key);
    return Promise.resolve(r && (r.expires === undefined || r.expires > nowMs) ? r.v : undefined);
  }

  async getMany(ns: Namespace, keys: readonly string[], nowMs: number): Promise<(string | undefined)[]> {
    return Promise.all(keys.map((k) => this.get(ns, k, nowMs)));
  }

  set(ns: Namespace, key: string, value: string, _nowMs: number, expiresAtMs?: number): Promise<void> {
    const m = this.map(ns);
    if (!m.has(key) && m.size >= this.maxKeys) {
      return Promise.reject(
        new StoreUnavailableError(`the memory store holds ${this.maxKeys} ${ns} keys at most`),
      );
    }
    m.set(key, { v: value, expires: expiresAtMs });
    return Promise.resolve();
  }

  delete(ns: Namespace, key: string): Promise<boolean> {
    return Promise.resolve(this.map(ns).delete(key));
  }

  async keys(ns: Namespace, limit: number, nowMs: number): Promise<string[]> {
    const out: string[] = [];
    for (const [k, r] of this.map(ns)) {
      if (out.length >= limit) break;
      if (r.expires === undefined || r.expires > nowMs) out.push(k);
    }
    return out.sort();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
