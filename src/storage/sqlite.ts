/**
 * SQLite backends (better-sqlite3): items, peers and state in one database file, in WAL mode.
 *
 * better-sqlite3 is synchronous: each call returns once SQLite has committed, so a write that has
 * returned survives the process being killed (WAL with synchronous=NORMAL is durable against
 * process crashes; pass synchronous 'full' to also survive power loss).
 */
import Database from 'better-sqlite3';
import type { Address, Family } from '../transport/address.js';
import { KadmiumError } from '../util/errors.js';
import type { ItemBackend, StoreDecider, StoredItem, StoreIfOutcome } from './item-store.js';
import type { PeerBackend, PeerRecord } from './peer-store.js';
import type { StateStore } from './state-store.js';

export interface SqliteOptions {
  /** Durability of each commit: 'normal' (default) survives process crashes, 'full' power loss too. */
  synchronous?: 'normal' | 'full';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  target BLOB PRIMARY KEY,
  v BLOB NOT NULL,
  k BLOB,
  sig BLOB,
  salt BLOB,
  seq INTEGER,
  stored_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at);
CREATE TABLE IF NOT EXISTS peers (
  infohash BLOB NOT NULL,
  host TEXT NOT NULL,
  port INTEGER NOT NULL,
  family INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (infohash, host, port)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS peers_by_expiry ON peers (expires_at);
CREATE INDEX IF NOT EXISTS peers_by_infohash_expiry ON peers (infohash, expires_at);
CREATE TABLE IF NOT EXISTS state (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
`;

/** A view over SQLite's Buffer, so callers see plain Uint8Arrays (no copy). */
function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

interface ItemRow {
  target: Buffer;
  v: Buffer;
  k: Buffer | null;
  sig: Buffer | null;
  salt: Buffer | null;
  seq: number | null;
  stored_at: number;
  expires_at: number;
}

interface PeerRow {
  infohash: Buffer;
  host: string;
  port: number;
  family: number;
  seed: number;
  stored_at: number;
  expires_at: number;
}

function rowToItem(row: ItemRow): StoredItem {
  return {
    target: bytes(row.target),
    v: bytes(row.v),
    ...(row.k ? { k: bytes(row.k) } : {}),
    ...(row.sig ? { sig: bytes(row.sig) } : {}),
    ...(row.salt ? { salt: bytes(row.salt) } : {}),
    ...(row.seq !== null ? { seq: row.seq } : {}),
    storedAt: row.stored_at,
    expiresAt: row.expires_at,
  };
}

/** The upsert statement's named parameters for an item. */
function itemParams(item: StoredItem): Record<string, Uint8Array | number | null> {
  return {
    target: item.target,
    v: item.v,
    k: item.k ?? null,
    sig: item.sig ?? null,
    salt: item.salt ?? null,
    seq: item.seq ?? null,
    storedAt: item.storedAt,
    expiresAt: item.expiresAt,
  };
}

function rowToPeer(row: PeerRow): PeerRecord {
  const address: Address = { host: row.host, port: row.port, family: row.family as Family };
  return {
    infohash: bytes(row.infohash),
    address,
    seed: row.seed === 1,
    storedAt: row.stored_at,
    expiresAt: row.expires_at,
  };
}

/**
 * One open database file shared by the three backends. Each backend's close() releases its share;
 * the file closes when all three have (or at `close()`).
 */
export class SqliteStorage {
  readonly items: SqliteItemBackend;
  readonly peers: SqlitePeerBackend;
  readonly state: SqliteStateStore;
  private readonly db: Database.Database;
  private users = 3;

  constructor(
    readonly path: string,
    options: SqliteOptions = {},
  ) {
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new KadmiumError(
        'STORAGE_UNAVAILABLE',
        `cannot open SQLite storage at ${path}: ${String(err)}; check the path exists and is writable`,
        { cause: err },
      );
    }
    const release = (): void => {
      this.users--;
      if (this.users === 0 && this.db.open) this.db.close();
    };
    this.items = new SqliteItemBackend(this.db, once(release));
    this.peers = new SqlitePeerBackend(this.db, once(release));
    this.state = new SqliteStateStore(this.db, once(release));
  }

  async close(): Promise<void> {
    await Promise.all([this.items.close(), this.peers.close(), this.state.close()]);
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

export class SqliteItemBackend implements ItemBackend {
  private readonly upsert: Database.Statement;
  private readonly selectOne: Database.Statement;
  private readonly exists: Database.Statement;
  private readonly selectStalest: Database.Statement;
  private readonly deleteExpired: Database.Statement;
  private readonly deleteExpiredUpTo: Database.Statement;
  private readonly deleteOne: Database.Statement;
  private readonly countAll: Database.Statement;
  /** load, decide, store in one BEGIN IMMEDIATE transaction (see storeIf). */
  private readonly conditional: Database.Transaction<
    (target: Uint8Array, decide: StoreDecider) => StoreIfOutcome
  >;

  constructor(
    db: Database.Database,
    private readonly release: () => void,
  ) {
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO items (target, v, k, sig, salt, seq, stored_at, expires_at)
       VALUES (@target, @v, @k, @sig, @salt, @seq, @storedAt, @expiresAt)`,
    );
    this.selectOne = db.prepare('SELECT * FROM items WHERE target = ?');
    this.exists = db.prepare('SELECT 1 FROM items WHERE target = ?').pluck();
    this.selectStalest = db.prepare('SELECT * FROM items ORDER BY expires_at LIMIT ?');
    // Both walk items_by_expiry from its start, so a sweep costs what it deletes.
    this.deleteExpired = db.prepare('DELETE FROM items WHERE expires_at <= ?');
    this.deleteExpiredUpTo = db.prepare(
      `DELETE FROM items WHERE target IN
         (SELECT target FROM items WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    );
    this.deleteOne = db.prepare('DELETE FROM items WHERE target = ?');
    this.countAll = db.prepare('SELECT COUNT(*) AS n FROM items');
    this.conditional = db.transaction((target: Uint8Array, decide: StoreDecider): StoreIfOutcome => {
      const row = this.selectOne.get(target) as ItemRow | undefined;
      const next = decide(row ? rowToItem(row) : undefined);
      if (!next) return 'kept';
      this.upsert.run(itemParams(next));
      return row ? 'replaced' : 'added';
    });
  }

  async store(item: StoredItem): Promise<boolean> {
    // Synchronous, so nothing of this process runs between the two statements.
    const added = this.exists.get(item.target) === undefined;
    this.upsert.run(itemParams(item));
    return added;
  }

  async storeIf(target: Uint8Array, decide: StoreDecider): Promise<StoreIfOutcome> {
    // Synchronous in this process; IMMEDIATE takes the write lock before the read, so another
    // process on the same file cannot write between them either (it waits, busy_timeout).
    return this.conditional.immediate(target, decide);
  }

  async load(target: Uint8Array): Promise<StoredItem | undefined> {
    const row = this.selectOne.get(target) as ItemRow | undefined;
    return row ? rowToItem(row) : undefined;
  }

  async list(limit: number): Promise<StoredItem[]> {
    return (this.selectStalest.all(limit) as ItemRow[]).map(rowToItem);
  }

  async expire(now: number, max?: number): Promise<number> {
    return (max === undefined ? this.deleteExpired.run(now) : this.deleteExpiredUpTo.run(now, max)).changes;
  }

  async delete(target: Uint8Array): Promise<boolean> {
    return this.deleteOne.run(target).changes > 0;
  }

  async count(): Promise<number> {
    return (this.countAll.get() as { n: number }).n;
  }

  async close(): Promise<void> {
    this.release();
  }
}

export class SqlitePeerBackend implements PeerBackend {
  private readonly upsert: Database.Statement;
  private readonly selectOne: Database.Statement;
  private readonly exists: Database.Statement;
  private readonly selectSwarm: Database.Statement;
  private readonly selectStalest: Database.Statement;
  private readonly selectStalestOf: Database.Statement;
  private readonly deleteExpired: Database.Statement;
  private readonly deleteExpiredUpTo: Database.Statement;
  private readonly deleteOne: Database.Statement;
  private readonly countOf: Database.Statement;
  private readonly countAll: Database.Statement;
  private readonly selectInfohashes: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly release: () => void,
  ) {
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO peers (infohash, host, port, family, seed, stored_at, expires_at)
       VALUES (@infohash, @host, @port, @family, @seed, @storedAt, @expiresAt)`,
    );
    this.selectOne = db.prepare('SELECT * FROM peers WHERE infohash = ? AND host = ? AND port = ?');
    this.exists = db.prepare('SELECT 1 FROM peers WHERE infohash = ? AND host = ? AND port = ?').pluck();
    this.selectSwarm = db.prepare('SELECT * FROM peers WHERE infohash = ? ORDER BY expires_at DESC');
    this.selectStalest = db.prepare('SELECT * FROM peers ORDER BY expires_at LIMIT ?');
    this.selectStalestOf = db.prepare('SELECT * FROM peers WHERE infohash = ? ORDER BY expires_at LIMIT ?');
    // Both walk peers_by_expiry from its start, so a sweep costs what it deletes.
    this.deleteExpired = db.prepare('DELETE FROM peers WHERE expires_at <= ?');
    this.deleteExpiredUpTo = db.prepare(
      `DELETE FROM peers WHERE (infohash, host, port) IN
         (SELECT infohash, host, port FROM peers WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    );
    this.deleteOne = db.prepare('DELETE FROM peers WHERE infohash = ? AND host = ? AND port = ?');
    this.countOf = db.prepare('SELECT COUNT(*) AS n FROM peers WHERE infohash = ?');
    this.countAll = db.prepare('SELECT COUNT(DISTINCT infohash) AS infohashes, COUNT(*) AS peers FROM peers');
    this.selectInfohashes = db.prepare('SELECT DISTINCT infohash FROM peers LIMIT ?');
  }

  async store(r: PeerRecord): Promise<boolean> {
    // Synchronous, so nothing of this process runs between the two statements.
    const added = this.exists.get(r.infohash, r.address.host, r.address.port) === undefined;
    this.upsert.run({
      infohash: r.infohash,
      host: r.address.host,
      port: r.address.port,
      family: r.address.family,
      seed: r.seed ? 1 : 0,
      storedAt: r.storedAt,
      expiresAt: r.expiresAt,
    });
    return added;
  }

  async loadOne(infohash: Uint8Array, address: Address): Promise<PeerRecord | undefined> {
    const row = this.selectOne.get(infohash, address.host, address.port) as PeerRow | undefined;
    return row ? rowToPeer(row) : undefined;
  }

  load(infohash: Uint8Array): PeerRecord[] {
    return (this.selectSwarm.all(infohash) as PeerRow[]).map(rowToPeer);
  }

  async list(limit: number, infohash?: Uint8Array): Promise<PeerRecord[]> {
    const rows = infohash ? this.selectStalestOf.all(infohash, limit) : this.selectStalest.all(limit);
    return (rows as PeerRow[]).map(rowToPeer);
  }

  async expire(now: number, max?: number): Promise<number> {
    return (max === undefined ? this.deleteExpired.run(now) : this.deleteExpiredUpTo.run(now, max)).changes;
  }

  async delete(infohash: Uint8Array, address: Address): Promise<boolean> {
    return this.deleteOne.run(infohash, address.host, address.port).changes > 0;
  }

  async countFor(infohash: Uint8Array): Promise<number> {
    return (this.countOf.get(infohash) as { n: number }).n;
  }

  async counts(): Promise<{ infohashes: number; peers: number }> {
    return this.countAll.get() as { infohashes: number; peers: number };
  }

  async infohashes(max: number): Promise<Uint8Array[]> {
    return (this.selectInfohashes.all(max) as { infohash: Buffer }[]).map((r) => bytes(r.infohash));
  }

  async close(): Promise<void> {
    this.release();
  }
}

export class SqliteStateStore implements StateStore {
  private readonly upsert: Database.Statement;
  private readonly selectOne: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly release: () => void,
  ) {
    this.upsert = db.prepare('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)');
    this.selectOne = db.prepare('SELECT value FROM state WHERE key = ?');
  }

  async saveState(key: string, value: Uint8Array): Promise<void> {
    this.upsert.run(key, value);
  }

  async loadState(key: string): Promise<Uint8Array | undefined> {
    const row = this.selectOne.get(key) as { value: Buffer } | undefined;
    return row ? bytes(row.value) : undefined;
  }

  async close(): Promise<void> {
    this.release();
  }
}
