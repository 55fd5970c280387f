/**
 * Redis backends (ioredis): items, peers and state under one key namespace per network, e.g.
 * `kadmium:mainnet:`, so several networks (or test runs) share a server without meeting.
 *
 * Keys, after the namespace:
 *   item:<targetHex>         bencoded item record            (expires by Redis as a backstop)
 *   items                    zset targetHex -> expiresAt      (stalest-first listing, expiry sweep)
 *   swarm:<infohashHex>      hash addressKey -> peer record   (expires by Redis as a backstop)
 *   swarm-exp:<infohashHex>  zset addressKey -> expiresAt
 *   peers                    zset "<infohashHex>/<addressKey>" -> expiresAt
 *   infohashes               set of infohashHex
 *   state:<key>              raw bytes
 *
 * Expiry is decided on the injected clock's `now` (the stores' `expire(now)`), as with every
 * backend. Redis key expiry is set as well, to the record's TTL plus a grace period, so keys of a
 * namespace no node sweeps any more vanish by themselves; reads tolerate index entries whose key
 * Redis already dropped, and the next sweep removes them.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Address } from '../transport/address.js';
import { addressKey } from '../transport/address.js';
import { fromHex, toHex } from '../util/bytes.js';
import { KadmiumError } from '../util/errors.js';
import { connectRedis } from './redis-connect.js';
import { decodeItemRecord, decodePeerRecord, encodeItemRecord, encodePeerRecord } from './codec.js';
import {
  type ItemBackend,
  STORAGE_CONFLICT,
  type StoreDecider,
  type StoredItem,
  type StoreIfOutcome,
} from './item-store.js';
import type { PeerBackend, PeerRecord } from './peer-store.js';
import type { StateStore } from './state-store.js';

export interface RedisOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Prefix of every key, e.g. "kadmium:mainnet:". */
  namespace: string;
  /** Added to a record's TTL for Redis's own key expiry, ms (default 1 min). */
  expiryGraceMs?: number;
}

/** Records swept per round trip in expire(). */
const SWEEP_BATCH = 500;
/** Upper bound on sweep rounds in one expire() call; the next call continues. */
const SWEEP_ROUNDS = 10_000;

/** Conditional stores tried before storeIf gives up with STORAGE_CONFLICT (each: GET, EVALSHA). */
export const STORE_IF_ATTEMPTS = 8;

/**
 * storeIf's write, as one script so Redis runs it atomically: SET the record (with its key TTL)
 * and index it, only if the key still holds the exact bytes the decision was made on (ARGV[1]
 * '1' and ARGV[2] those bytes, or ARGV[1] '0': no key). Returns -1 when another writer got there
 * first, else ZADD's answer (1: a new record, 0: a replaced one).
 * KEYS: item key, index. ARGV: held?, held bytes, new bytes, key TTL ms, expiresAt, target hex.
 *
 * Why a compare-and-set on the bytes and not the version rule in Lua: the rule is the policy's
 * (BEP 44's seq and CAS, or the overlay's seq packed inside the value) and stays in TypeScript;
 * the script only makes "nothing changed since I read it" atomic with the write. Same bytes means
 * the same record, so a value that changed and changed back still decides the same way. Unlike
 * WATCH/MULTI/EXEC it needs no dedicated connection: the shared one keeps pipelining.
 */
const STORE_IF_LUA = `local held = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if held ~= ARGV[2] then return -1 end
elseif held then
  return -1
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])`;
const STORE_IF_SHA = createHash('sha1').update(STORE_IF_LUA).digest('hex');

/** A plain Uint8Array copy of a reply Buffer (reply buffers may share memory with the socket's). */
function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b);
}

/** One connection shared by the three backends; it closes when all three have closed. */
export class RedisStorage {
  readonly items: RedisItemBackend;
  readonly peers: RedisPeerBackend;
  readonly state: RedisStateStore;
  private users = 3;

  private constructor(
    private readonly redis: Redis,
    options: RedisOptions,
  ) {
    const grace = options.expiryGraceMs ?? 60_000;
    const release = (): Promise<void> => {
      this.users--;
      return this.users === 0 ? this.redis.quit().then(() => undefined) : Promise.resolve();
    };
    this.items = new RedisItemBackend(redis, options.namespace, grace, once(release));
    this.peers = new RedisPeerBackend(redis, options.namespace, grace, once(release));
    this.state = new RedisStateStore(redis, options.namespace, once(release));
  }

  /** Connect, and fail with a message saying what to check when the server cannot be reached. */
  static async open(options: RedisOptions): Promise<RedisStorage> {
    // Keep reconnecting after a drop (every 2 s at most), so a restarted server is found again;
    // commands meanwhile fail after a few retries instead of hanging, and the node's circuit
    // breaker (breaker.ts) serves from memory until the server is back.
    const redis = await connectRedis({ url: options.url });
    return new RedisStorage(redis, options);
  }

  async close(): Promise<void> {
    await Promise.all([this.items.close(), this.peers.close(), this.state.close()]);
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}

/** Results of a MULTI/pipeline, throwing the first command error. */
function results(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new KadmiumError('STORAGE_ERROR', 'Redis transaction was aborted; retry the operation');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

export class RedisItemBackend implements ItemBackend {
  private readonly index: string;

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly graceMs: number,
    private readonly release: () => Promise<void>,
  ) {
    this.index = `${ns}items`;
  }

  private key(hex: string): string {
    return `${this.ns}item:${hex}`;
  }

  async store(item: StoredItem): Promise<boolean> {
    const hex = toHex(item.target);
    const ttl = Math.max(1, item.expiresAt - item.storedAt) + this.graceMs;
    // ZADD answers how many members it added: 1 for a new item, 0 for a replaced one.
    const [, added] = results(
      await this.redis
        .multi()
        .set(this.key(hex), Buffer.from(encodeItemRecord(item)), 'PX', ttl)
        .zadd(this.index, item.expiresAt, hex)
        .exec(),
    );
    return Number(added) > 0;
  }

  async storeIf(target: Uint8Array, decide: StoreDecider): Promise<StoreIfOutcome> {
    const hex = toHex(target);
    for (let attempt = 0; attempt < STORE_IF_ATTEMPTS; attempt++) {
      const raw = await this.redis.getBuffer(this.key(hex));
      const next = decide(raw ? decodeItemRecord(new Uint8Array(target), bytes(raw)) : undefined);
      if (!next) return 'kept';
      const ttl = Math.max(1, next.expiresAt - next.storedAt) + this.graceMs;
      const reply = await this.evalStoreIf(
        [this.key(hex), this.index],
        [raw ? '1' : '0', raw ?? '', Buffer.from(encodeItemRecord(next)), ttl, next.expiresAt, hex],
      );
      if (reply === 1) return 'added';
      if (reply === 0) return 'replaced';
    }
    throw new KadmiumError(
      STORAGE_CONFLICT,
      `item ${hex} changed ${STORE_IF_ATTEMPTS} times while this node was storing it (other nodes sharing the Redis dataset write it too); put it again`,
    );
  }

  /** EVALSHA, sending the script itself once per server (a restarted Redis has forgotten it). */
  private async evalStoreIf(keys: string[], args: (string | Buffer | number)[]): Promise<number> {
    try {
      return Number(await this.redis.evalsha(STORE_IF_SHA, keys.length, ...keys, ...args));
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      return Number(await this.redis.eval(STORE_IF_LUA, keys.length, ...keys, ...args));
    }
  }

  async load(target: Uint8Array): Promise<StoredItem | undefined> {
    const raw = await this.redis.getBuffer(this.key(toHex(target)));
    return raw ? decodeItemRecord(new Uint8Array(target), bytes(raw)) : undefined;
  }

  async list(limit: number): Promise<StoredItem[]> {
    if (limit <= 0) return [];
    const hexes = await this.redis.zrange(this.index, '0', String(limit - 1));
    if (hexes.length === 0) return [];
    const raws = await this.redis.mgetBuffer(hexes.map((h) => this.key(h)));
    const out: StoredItem[] = [];
    const ghosts: string[] = [];
    hexes.forEach((hex, i) => {
      const raw = raws[i];
      const item = raw ? decodeItemRecord(fromHex(hex) ?? new Uint8Array(0), bytes(raw)) : undefined;
      if (item) out.push(item);
      else ghosts.push(hex);
    });
    if (ghosts.length > 0) await this.redis.zrem(this.index, ...ghosts);
    return out;
  }

  async expire(now: number, max = Number.POSITIVE_INFINITY): Promise<number> {
    let removed = 0;
    for (let round = 0; round < SWEEP_ROUNDS && removed < max; round++) {
      const batch = Math.min(SWEEP_BATCH, max - removed);
      const hexes = await this.redis.zrangebyscore(this.index, '-inf', now, 'LIMIT', 0, batch);
      if (hexes.length === 0) break;
      const replies = results(
        await this.redis
          .multi()
          .del(...hexes.map((h) => this.key(h)))
          .zrem(this.index, ...hexes)
          .exec(),
      );
      removed += Number(replies[1]);
    }
    return removed;
  }

  async delete(target: Uint8Array): Promise<boolean> {
    const hex = toHex(target);
    const replies = results(await this.redis.multi().del(this.key(hex)).zrem(this.index, hex).exec());
    return Number(replies[1]) > 0 || Number(replies[0]) > 0;
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.index);
  }

  close(): Promise<void> {
    return this.release();
  }
}

export class RedisPeerBackend implements PeerBackend {
  private readonly index: string;
  private readonly infohashSet: string;

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly graceMs: number,
    private readonly release: () => Promise<void>,
  ) {
    this.index = `${ns}peers`;
    this.infohashSet = `${ns}infohashes`;
  }

  private swarm(ih: string): string {
    return `${this.ns}swarm:${ih}`;
  }

  private swarmExpiry(ih: string): string {
    return `${this.ns}swarm-exp:${ih}`;
  }

  async store(r: PeerRecord): Promise<boolean> {
    const ih = toHex(r.infohash);
    const addr = addressKey(r.address);
    // Every store is the swarm's freshest record, so its TTL is the swarm keys' TTL.
    const ttl = Math.max(1, r.expiresAt - r.storedAt) + this.graceMs;
    // ZADD on the global index answers 1 for a new peer, 0 for a replaced one.
    const replies = results(
      await this.redis
        .multi()
        .hset(this.swarm(ih), addr, Buffer.from(encodePeerRecord(r)))
        .pexpire(this.swarm(ih), ttl)
        .zadd(this.swarmExpiry(ih), r.expiresAt, addr)
        .pexpire(this.swarmExpiry(ih), ttl)
        .zadd(this.index, r.expiresAt, `${ih}/${addr}`)
        .sadd(this.infohashSet, ih)
        .exec(),
    );
    return Number(replies[4]) > 0;
  }

  async loadOne(infohash: Uint8Array, address: Address): Promise<PeerRecord | undefined> {
    const raw = await this.redis.hgetBuffer(this.swarm(toHex(infohash)), addressKey(address));
    return raw ? decodePeerRecord(new Uint8Array(infohash), bytes(raw)) : undefined;
  }

  async load(infohash: Uint8Array): Promise<PeerRecord[]> {
    const all = await this.redis.hgetallBuffer(this.swarm(toHex(infohash)));
    const out: PeerRecord[] = [];
    const ih = new Uint8Array(infohash);
    for (const raw of Object.values(all)) {
      const record = decodePeerRecord(ih, bytes(raw));
      if (record) out.push(record);
    }
    return out.sort((a, b) => b.expiresAt - a.expiresAt);
  }

  async list(limit: number, infohash?: Uint8Array): Promise<PeerRecord[]> {
    if (limit <= 0) return [];
    const members = infohash
      ? (await this.redis.zrange(this.swarmExpiry(toHex(infohash)), '0', String(limit - 1))).map(
          (addr) => `${toHex(infohash)}/${addr}`,
        )
      : await this.redis.zrange(this.index, '0', String(limit - 1));
    const out: PeerRecord[] = [];
    for (const member of members) {
      const [ih, addr] = splitMember(member);
      const raw = await this.redis.hgetBuffer(this.swarm(ih), addr);
      const record = raw ? decodePeerRecord(fromHex(ih) ?? new Uint8Array(0), bytes(raw)) : undefined;
      if (record) out.push(record);
      else await this.removeMembers([member]);
    }
    return out;
  }

  async expire(now: number, max = Number.POSITIVE_INFINITY): Promise<number> {
    let removed = 0;
    for (let round = 0; round < SWEEP_ROUNDS && removed < max; round++) {
      const batch = Math.min(SWEEP_BATCH, max - removed);
      const members = await this.redis.zrangebyscore(this.index, '-inf', now, 'LIMIT', 0, batch);
      if (members.length === 0) break;
      removed += await this.removeMembers(members);
    }
    return removed;
  }

  async delete(infohash: Uint8Array, address: Address): Promise<boolean> {
    return (await this.removeMembers([`${toHex(infohash)}/${addressKey(address)}`])) > 0;
  }

  async countFor(infohash: Uint8Array): Promise<number> {
    return this.redis.zcard(this.swarmExpiry(toHex(infohash)));
  }

  async counts(): Promise<{ infohashes: number; peers: number }> {
    const [infohashes, peers] = results(
      await this.redis.multi().scard(this.infohashSet).zcard(this.index).exec(),
    );
    return { infohashes: Number(infohashes), peers: Number(peers) };
  }

  async infohashes(max: number): Promise<Uint8Array[]> {
    if (max <= 0) return [];
    // SSCAN walks the set in bounded steps; COUNT is a hint, so stop once `max` are found.
    const out: Uint8Array[] = [];
    let cursor = '0';
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const [next, hexes] = await this.redis.sscan(this.infohashSet, cursor, 'COUNT', Math.min(max, 1000));
      for (const hex of hexes) {
        const ih = fromHex(hex);
        if (ih && out.length < max) out.push(ih);
      }
      cursor = next;
      if (cursor === '0' || out.length >= max) break;
    }
    return out;
  }

  close(): Promise<void> {
    return this.release();
  }

  /** Remove peers by index member; drops a swarm's keys once it is empty. Returns how many were indexed. */
  private async removeMembers(members: string[]): Promise<number> {
    const tx = this.redis.multi();
    const swarms = new Set<string>();
    for (const member of members) {
      const [ih, addr] = splitMember(member);
      swarms.add(ih);
      tx.hdel(this.swarm(ih), addr).zrem(this.swarmExpiry(ih), addr);
    }
    tx.zrem(this.index, ...members);
    for (const ih of swarms) tx.zcard(this.swarmExpiry(ih));
    const replies = results(await tx.exec());
    const removed = Number(replies[members.length * 2]);
    const sizes = replies.slice(members.length * 2 + 1);
    const empty = [...swarms].filter((_, i) => Number(sizes[i]) === 0);
    if (empty.length > 0) {
      const cleanup = this.redis.multi();
      for (const ih of empty) cleanup.del(this.swarm(ih), this.swarmExpiry(ih)).srem(this.infohashSet, ih);
      results(await cleanup.exec());
    }
    return removed;
  }
}

function splitMember(member: string): [string, string] {
  const slash = member.indexOf('/');
  return [member.slice(0, slash), member.slice(slash + 1)];
}

export class RedisStateStore implements StateStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly release: () => Promise<void>,
  ) {}

  async saveState(key: string, value: Uint8Array): Promise<void> {
    await this.redis.set(`${this.ns}state:${key}`, Buffer.from(value));
  }

  async loadState(key: string): Promise<Uint8Array | undefined> {
    const raw = await this.redis.getBuffer(`${this.ns}state:${key}`);
    return raw ? bytes(raw) : undefined;
  }

  close(): Promise<void> {
    return this.release();
  }
}
