/**
 * One contract for every storage backend: the same tests run against memory, SQLite (temp files)
 * and a real redis-server. A backend passes when the stores built on it behave identically.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ITEM_TTL_MS,
  immutableTarget,
  keypairFromSeed,
  mutableTarget,
  sign,
  signedBufferOfEncoded,
  signMutable,
} from '../../src/protocols/mainline/bep44.js';
import {
  type ItemBackend,
  type ItemStoreLimits,
  MemoryItemBackend,
  type StoredItem,
} from '../../src/storage/item-store.js';
import { openStorage, type Storage } from '../../src/storage/open.js';
import {
  MemoryPeerBackend,
  type PeerBackend,
  type PeerRecord,
  type PeerStoreLimits,
} from '../../src/storage/peer-store.js';
import { RedisStorage } from '../../src/storage/redis.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { type Address, makeAddress } from '../../src/transport/address.js';
import { encode } from '../../src/wire/bencode.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const ih = (n: number): Uint8Array => new Uint8Array(20).fill(n);
const v4 = (last: number, port = 6881): Address => makeAddress(`10.0.0.${last}`, port);
const hosts = (peers: { address: Address }[]): string[] =>
  peers.map((p) => `${p.address.host}:${p.address.port}`);

interface Limits {
  peerLimits?: Partial<PeerStoreLimits>;
  itemLimits?: Partial<ItemStoreLimits>;
}

interface Backends {
  peers: PeerBackend;
  items: ItemBackend;
  close(): Promise<void>;
}

export interface BackendUnderTest {
  /** A fresh, empty place to store (a file path, a Redis namespace). */
  newLocation(): string;
  open(location: string, limits?: Limits): Promise<Storage>;
  /** The bare backends, for what they promise the policies above them. */
  openBackends(location: string): Promise<Backends>;
  /** Whether data outlives close(): the persistence tests run only then. */
  persistent: boolean;
  /** Whether peers() answers without a promise (the get_peers serving fast path). */
  synchronousPeers: boolean;
}

async function using<T>(storage: Storage, fn: (s: Storage) => Promise<T>): Promise<T> {
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export function storageContract(backend: () => BackendUnderTest): void {
  const open = (limits?: Limits): Promise<Storage> => backend().open(backend().newLocation(), limits);
  const openBackends = async <T>(fn: (b: Backends) => Promise<T>): Promise<T> => {
    const b = await backend().openBackends(backend().newLocation());
    try {
      return await fn(b);
    } finally {
      await b.close();
    }
  };
  const peer = (n: number, expiresAt: number): PeerRecord => ({
    infohash: ih(n % 3),
    address: v4(n),
    seed: false,
    storedAt: expiresAt - 1_000,
    expiresAt,
  });
  const item = (n: number, expiresAt: number): StoredItem => ({
    target: ih(100 + n),
    v: encode(n),
    storedAt: expiresAt - 1_000,
    expiresAt,
  });
  const peerHosts = (records: PeerRecord[]): string[] => records.map((r) => r.address.host);
  const itemNumbers = (records: StoredItem[]): number[] => records.map((r) => (r.target[0] as number) - 100);

  describe('backends (what the policies rely on)', () => {
    it('peers: store() says whether it added a record or replaced one', () =>
      openBackends(async ({ peers }) => {
        assert.equal(await peers.store(peer(1, 5_000)), true);
        assert.equal(await peers.store(peer(1, 6_000)), false, 'same infohash and address');
        assert.equal(await peers.store(peer(2, 5_000)), true);
        assert.equal(await peers.delete(ih(1), v4(1)), true);
        assert.equal(await peers.store(peer(1, 7_000)), true, 'added again after a delete');
        assert.deepEqual(await peers.counts(), { infohashes: 2, peers: 2 });
      }));

    it('peers: list() and expire(now, max) go stalest first whatever the order stored', () =>
      openBackends(async ({ peers }) => {
        // Stored out of expiry order, as after the clock steps back.
        for (const [n, at] of [
          [1, 5_000],
          [2, 3_000],
          [3, 9_000],
          [4, 1_000],
          [5, 4_000],
        ] as const)
          await peers.store(peer(n, at));
        assert.deepEqual(peerHosts(await peers.list(1)), ['10.0.0.4']);
        assert.deepEqual(peerHosts(await peers.list(3)), ['10.0.0.4', '10.0.0.2', '10.0.0.5']);
        assert.equal(await peers.expire(4_500, 2), 2, 'at most max');
        assert.deepEqual(peerHosts(await peers.list(5)), ['10.0.0.5', '10.0.0.1', '10.0.0.3']);
        assert.equal(await peers.expire(4_500, 10), 1, 'only what has expired');
        assert.equal(await peers.expire(4_500), 0);
        assert.equal(await peers.expire(10_000), 2, 'all expired without max');
        assert.deepEqual(await peers.counts(), { infohashes: 0, peers: 0 });
        assert.deepEqual(await peers.list(1), []);
      }));

    it('items: store() says whether it added a record or replaced one', () =>
      openBackends(async ({ items }) => {
        assert.equal(await items.store(item(1, 5_000)), true);
        assert.equal(await items.store(item(1, 6_000)), false, 'same target');
        assert.equal(await items.store(item(2, 5_000)), true);
        assert.equal(await items.delete(ih(101)), true);
        assert.equal(await items.store(item(1, 7_000)), true, 'added again after a delete');
        assert.equal(await items.count(), 2);
      }));

    it('items: storeIf() decides on the record held and stores what the decider returns', () =>
      openBackends(async ({ items }) => {
        const seen: (number | undefined)[] = [];
        // Keep the held record unless the new one outlives it: a version rule in miniature.
        const outliving = (expiresAt: number) => (held: StoredItem | undefined) => {
          seen.push(held?.expiresAt);
          return held && held.expiresAt >= expiresAt ? undefined : item(1, expiresAt);
        };
        assert.equal(await items.storeIf(ih(101), outliving(5_000)), 'added');
        assert.equal(await items.storeIf(ih(101), outliving(6_000)), 'replaced');
        assert.equal(await items.storeIf(ih(101), outliving(4_000)), 'kept');
        assert.deepEqual(seen, [undefined, 5_000, 6_000], 'each decider saw the record held then');
        assert.equal((await items.load(ih(101)))?.expiresAt, 6_000);
        assert.equal(await items.count(), 1);
        assert.equal(await items.expire(5_500), 0, 'the expiry index follows the replacement');
        assert.equal(await items.expire(6_000), 1);
      }));

    it('items: list() and expire(now, max) go stalest first whatever the order stored', () =>
      openBackends(async ({ items }) => {
        for (const [n, at] of [
          [1, 5_000],
          [2, 3_000],
          [3, 9_000],
          [4, 1_000],
          [5, 4_000],
        ] as const)
          await items.store(item(n, at));
        assert.deepEqual(itemNumbers(await items.list(1)), [4]);
        assert.deepEqual(itemNumbers(await items.list(3)), [4, 2, 5]);
        assert.equal(await items.expire(4_500, 2), 2, 'at most max');
        assert.deepEqual(itemNumbers(await items.list(5)), [5, 1, 3]);
        assert.equal(await items.expire(4_500, 10), 1, 'only what has expired');
        assert.equal(await items.expire(4_500), 0);
        assert.equal(await items.expire(10_000), 2, 'all expired without max');
        assert.equal(await items.count(), 0);
        assert.deepEqual(await items.list(1), []);
      }));
  });

  describe('peers', () => {
    it('answers peers() without a promise exactly when the backend is synchronous', () =>
      open().then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 1_000);
          const got = peers.peers(ih(1), 10, 4, 1_000);
          assert.equal(got instanceof Promise, !backend().synchronousPeers);
          assert.deepEqual(hosts(await got), ['10.0.0.1:6881']);
          assert.deepEqual(peers.peers(ih(1), 0, 4, 1_000), [], 'max 0 asks the backend nothing');
        }),
      ));

    it('announces and returns peers freshest first, with counts and infohashes', () =>
      open().then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 1_000);
          await peers.announce(ih(1), v4(2), true, 2_000);
          const got = await peers.peers(ih(1), 10, 4, 2_000);
          assert.deepEqual(hosts(got), ['10.0.0.2:6881', '10.0.0.1:6881']);
          assert.equal(got[0]?.seed, true);
          assert.equal(got[1]?.seed, false);
          assert.deepEqual(await peers.counts(), { infohashes: 1, peers: 2 });
          assert.deepEqual(await peers.infohashes(10), [ih(1)]);
          assert.deepEqual(await peers.peers(ih(9), 10, 4, 2_000), []);
          assert.equal((await peers.peers(ih(1), 1, 4, 2_000)).length, 1);
        }),
      ));

    it('a re-announce refreshes the peer instead of adding it', () =>
      open({ peerLimits: { ttlMs: 1_000 } }).then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 0);
          await peers.announce(ih(1), v4(2), false, 10);
          await peers.announce(ih(1), v4(1), true, 20);
          const got = await peers.peers(ih(1), 10, 4, 20);
          assert.deepEqual(hosts(got), ['10.0.0.1:6881', '10.0.0.2:6881']);
          assert.equal(got[0]?.expiresAt, 1_020);
          assert.equal(got[0]?.seed, true);
          assert.deepEqual(await peers.counts(), { infohashes: 1, peers: 2 });
          // An out-of-order announce (older now) does not shorten the peer's life.
          await peers.announce(ih(1), v4(1), false, 5);
          assert.equal((await peers.peers(ih(1), 1, 4, 20))[0]?.expiresAt, 1_020);
        }),
      ));

    it('expires peers on the clock time passed in', () =>
      open({ peerLimits: { ttlMs: 1_000 } }).then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 0);
          await peers.announce(ih(2), v4(2), false, 500);
          assert.equal((await peers.peers(ih(1), 10, 4, 999)).length, 1);
          assert.equal((await peers.peers(ih(1), 10, 4, 1_000)).length, 0, 'gone at expiresAt');
          assert.equal(await peers.expire(1_000), 1);
          assert.deepEqual(await peers.counts(), { infohashes: 1, peers: 1 });
          assert.deepEqual(await peers.infohashes(10), [ih(2)], 'no empty infohash left behind');
          assert.equal(await peers.expire(1_500), 1);
          assert.deepEqual(await peers.counts(), { infohashes: 0, peers: 0 });
        }),
      ));

    it('keeps at most maxPeersPerInfohash, dropping the stalest', () =>
      open({ peerLimits: { maxPeersPerInfohash: 3 } }).then((s) =>
        using(s, async ({ peers }) => {
          for (let i = 1; i <= 5; i++) await peers.announce(ih(1), v4(i), false, i * 10);
          await peers.announce(ih(2), v4(9), false, 60);
          assert.deepEqual(hosts(await peers.peers(ih(1), 10, 4, 60)), [
            '10.0.0.5:6881',
            '10.0.0.4:6881',
            '10.0.0.3:6881',
          ]);
          assert.deepEqual(await peers.counts(), { infohashes: 2, peers: 4 });
        }),
      ));

    it('keeps at most maxPeers in total, evicting the oldest overall', () =>
      open({ peerLimits: { maxPeers: 4 } }).then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 10);
          await peers.announce(ih(2), v4(2), false, 20);
          await peers.announce(ih(1), v4(3), false, 30);
          await peers.announce(ih(2), v4(4), false, 40);
          await peers.announce(ih(3), v4(5), false, 50);
          assert.deepEqual(await peers.counts(), { infohashes: 3, peers: 4 });
          assert.deepEqual(hosts(await peers.peers(ih(1), 10, 4, 50)), ['10.0.0.3:6881']);
          assert.deepEqual(hosts(await peers.peers(ih(3), 10, 4, 50)), ['10.0.0.5:6881']);
        }),
      ));

    it('sweeps expired peers before evicting live ones at the total cap', () =>
      open({ peerLimits: { maxPeers: 2, ttlMs: 100 } }).then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 0);
          await peers.announce(ih(2), v4(2), false, 50);
          await peers.announce(ih(3), v4(3), false, 120);
          assert.deepEqual(await peers.counts(), { infohashes: 2, peers: 2 });
          assert.deepEqual(hosts(await peers.peers(ih(2), 10, 4, 120)), ['10.0.0.2:6881']);
        }),
      ));

    it('never drops a fresher peer for a staler announce', () =>
      open({ peerLimits: { maxPeersPerInfohash: 2, maxPeers: 3 } }).then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 100);
          await peers.announce(ih(1), v4(2), false, 200);
          await peers.announce(ih(1), v4(3), false, 50);
          assert.deepEqual(hosts(await peers.peers(ih(1), 10, 4, 200)), ['10.0.0.2:6881', '10.0.0.1:6881']);
          await peers.announce(ih(2), v4(4), false, 300);
          await peers.announce(ih(3), v4(5), false, 60);
          assert.deepEqual(await peers.peers(ih(3), 10, 4, 300), []);
          assert.deepEqual(await peers.counts(), { infohashes: 2, peers: 3 });
        }),
      ));

    it('counts concurrent announces of one peer once toward the cap', () =>
      open({ peerLimits: { maxPeers: 3 } }).then((s) =>
        using(s, async ({ peers }) => {
          await Promise.all(Array.from({ length: 10 }, () => peers.announce(ih(1), v4(1), false, 10)));
          await peers.announce(ih(2), v4(2), false, 20);
          await peers.announce(ih(3), v4(3), false, 30);
          assert.deepEqual(await peers.counts(), { infohashes: 3, peers: 3 });
          assert.deepEqual(hosts(await peers.peers(ih(1), 10, 4, 30)), ['10.0.0.1:6881'], 'nothing evicted');
        }),
      ));

    it('at the total cap sweeps every expired peer, then evicts the stalest live one', () =>
      open({ peerLimits: { maxPeers: 5, ttlMs: 100 } }).then((s) =>
        using(s, async ({ peers }) => {
          for (let i = 1; i <= 5; i++) await peers.announce(ih(i), v4(i), false, i);
          await peers.announce(ih(6), v4(6), false, 200);
          assert.deepEqual(await peers.counts(), { infohashes: 1, peers: 1 }, 'all five swept');
          for (let i = 7; i <= 10; i++) await peers.announce(ih(i), v4(i), false, 200 + i);
          await peers.announce(ih(11), v4(11), false, 250);
          assert.deepEqual(await peers.counts(), { infohashes: 5, peers: 5 });
          assert.deepEqual(await peers.peers(ih(6), 10, 4, 250), [], 'the stalest went');
          assert.equal((await peers.peers(ih(11), 10, 4, 250)).length, 1);
        }),
      ));

    it('evicts the stalest peer even when announces arrived out of clock order', () =>
      open({ peerLimits: { maxPeers: 2 } }).then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 1_000);
          await peers.announce(ih(2), v4(2), false, 500); // the clock stepped back
          await peers.announce(ih(3), v4(3), false, 1_100);
          assert.deepEqual(await peers.peers(ih(2), 10, 4, 1_100), []);
          assert.equal((await peers.peers(ih(1), 10, 4, 1_100)).length, 1);
          assert.deepEqual(await peers.counts(), { infohashes: 2, peers: 2 });
        }),
      ));

    it('filters by address family', () =>
      open().then((s) =>
        using(s, async ({ peers }) => {
          await peers.announce(ih(1), v4(1), false, 1);
          await peers.announce(ih(1), makeAddress('2001:db8::1', 6881), false, 2);
          await peers.announce(ih(1), makeAddress('::ffff:10.0.0.1', 7000), false, 3);
          assert.deepEqual(hosts(await peers.peers(ih(1), 10, 4, 3)), ['10.0.0.1:6881']);
          const six = await peers.peers(ih(1), 10, 6, 3);
          assert.deepEqual(hosts(six), ['::ffff:10.0.0.1:7000', '2001:db8::1:6881']);
          assert.ok(six.every((p) => p.address.family === 6));
        }),
      ));
  });

  const pair = keypairFromSeed(new Uint8Array(32).fill(42));

  describe('items', () => {
    it('stores and returns immutable items under SHA-1(v)', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          const v = encode({ hello: b('world') });
          const put = await items.put({ v }, 1_000);
          assert.ok(put.ok);
          assert.deepEqual(put.item.target, immutableTarget({ hello: b('world') }));
          const got = await items.get(put.item.target, 1_000);
          assert.deepEqual(got?.v, v);
          assert.equal(got?.k, undefined);
          assert.equal(got?.expiresAt, 1_000 + ITEM_TTL_MS);
          const wrong = await items.put({ v, target: new Uint8Array(20) }, 1_000);
          assert.equal(wrong.ok ? 0 : wrong.code, 203);
          const garbage = await items.put({ v: b('3:ab') }, 1_000);
          assert.equal(garbage.ok ? 0 : garbage.code, 203);
          assert.equal(await items.count(), 1);
        }),
      ));

    it('accepts mutable puts with increasing seq, with and without salt', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          assert.ok((await items.put(signMutable(pair, 1, b('one')), 10)).ok);
          const second = await items.put(signMutable(pair, 2, b('two')), 20);
          assert.ok(second.ok);
          assert.deepEqual(second.item.target, mutableTarget(pair.publicKey));
          const got = await items.get(mutableTarget(pair.publicKey), 20);
          assert.equal(got?.seq, 2);
          assert.deepEqual(got?.v, encode(b('two')));
          assert.deepEqual(got?.k, pair.publicKey);
          assert.equal(got?.salt, undefined);
          const salted = await items.put(signMutable(pair, 7, b('salty'), b('topic')), 30);
          assert.ok(salted.ok);
          const gotSalted = await items.get(mutableTarget(pair.publicKey, b('topic')), 30);
          assert.deepEqual(gotSalted?.salt, b('topic'));
          assert.equal(gotSalted?.seq, 7);
          assert.equal(await items.count(), 2);
        }),
      ));

    it('keeps the raw bytes of v, so signatures over non-canonical bencoding still verify', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          const raw = b('d1:bi1e1:ai2ee'); // keys out of order: re-encoding would change the bytes
          const sig = sign(pair, signedBufferOfEncoded(3, raw));
          const put = await items.put({ v: raw, k: pair.publicKey, seq: 3, sig }, 0);
          assert.ok(put.ok, put.ok ? '' : put.message);
          assert.deepEqual((await items.get(put.item.target, 0))?.v, raw);
        }),
      ));

    it('rejects a lower seq with 302', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          assert.ok((await items.put(signMutable(pair, 5, b('five')), 0)).ok);
          const low = await items.put(signMutable(pair, 4, b('four')), 1);
          assert.equal(low.ok ? 0 : low.code, 302);
          assert.equal((await items.get(mutableTarget(pair.publicKey), 1))?.seq, 5);
        }),
      ));

    it('rejects the same seq with another value (302) and refreshes on the same value', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          assert.ok((await items.put(signMutable(pair, 5, b('five')), 0)).ok);
          const other = await items.put(signMutable(pair, 5, b('FIVE')), 1);
          assert.equal(other.ok ? 0 : other.code, 302);
          const again = await items.put(signMutable(pair, 5, b('five')), 1_000);
          assert.ok(again.ok);
          assert.equal(
            (await items.get(mutableTarget(pair.publicKey), 1_000))?.expiresAt,
            1_000 + ITEM_TTL_MS,
          );
        }),
      ));

    it('rejects a CAS mismatch with 301 and a message saying how to retry', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          assert.ok((await items.put(signMutable(pair, 5, b('five')), 0)).ok);
          const mismatch = await items.put({ ...signMutable(pair, 6, b('six')), cas: 4 }, 1);
          assert.equal(mismatch.ok ? 0 : mismatch.code, 301);
          if (!mismatch.ok) assert.match(mismatch.message, /retry with its seq as cas/);
          assert.ok((await items.put({ ...signMutable(pair, 6, b('six')), cas: 5 }, 2)).ok);
          assert.equal((await items.get(mutableTarget(pair.publicKey), 2))?.seq, 6);
        }),
      ));

    it('rejects a bad signature with 206 and stores nothing', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          const good = signMutable(pair, 1, b('value'));
          const sig = good.sig.slice();
          sig[0] = (sig[0] as number) ^ 1;
          const bad = await items.put({ ...good, sig }, 0);
          assert.equal(bad.ok ? 0 : bad.code, 206);
          assert.equal(await items.get(mutableTarget(pair.publicKey), 0), undefined);
          const partial = await items.put({ v: good.v, k: good.k, seq: 1 }, 0);
          assert.equal(partial.ok ? 0 : partial.code, 203);
        }),
      ));

    it('rejects values over 1000 bytes with 205', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          const big = b('x'.repeat(1_000));
          const immutable = await items.put({ v: encode(big) }, 0);
          assert.equal(immutable.ok ? 0 : immutable.code, 205);
          const mutable = await items.put(signMutable(pair, 1, big), 0);
          assert.equal(mutable.ok ? 0 : mutable.code, 205);
          assert.equal(await items.count(), 0);
        }),
      ));

    it('rejects a salt over 64 bytes with 207', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          const out = await items.put(signMutable(pair, 1, b('v'), new Uint8Array(65).fill(1)), 0);
          assert.equal(out.ok ? 0 : out.code, 207);
        }),
      ));

    it('expires items after the TTL (2 hours by default) on the clock time passed in', () =>
      open().then((s) =>
        using(s, async ({ items }) => {
          const put = await items.put({ v: encode(b('short-lived')) }, 0);
          assert.ok(put.ok);
          assert.ok(await items.get(put.item.target, ITEM_TTL_MS - 1));
          assert.equal(await items.get(put.item.target, ITEM_TTL_MS), undefined);
          assert.equal(await items.expire(ITEM_TTL_MS - 1), 0);
          assert.equal(await items.expire(ITEM_TTL_MS), 1);
          assert.equal(await items.count(), 0);
          // Once expired, a mutable item's old seq no longer binds: a fresh publisher starts over.
          assert.ok((await items.put(signMutable(pair, 9, b('nine')), 0)).ok);
          assert.ok((await items.put(signMutable(pair, 1, b('one')), ITEM_TTL_MS + 1)).ok);
        }),
      ));

    it('evicts the stalest item at capacity and never a fresher one for a staler put', () =>
      open({ itemLimits: { maxItems: 3 } }).then((s) =>
        using(s, async ({ items }) => {
          const targets: Uint8Array[] = [];
          for (let i = 1; i <= 3; i++) {
            const put = await items.put({ v: encode(b(`item-${i}`)) }, i * 10);
            assert.ok(put.ok);
            targets.push(put.item.target);
          }
          // Refreshing a held item needs no room.
          assert.ok((await items.put({ v: encode(b('item-1')) }, 35)).ok);
          const fourth = await items.put({ v: encode(b('item-4')) }, 40);
          assert.ok(fourth.ok);
          assert.equal(await items.count(), 3);
          assert.equal(await items.get(targets[1] as Uint8Array, 40), undefined, 'item-2 was the stalest');
          assert.ok(await items.get(targets[0] as Uint8Array, 40), 'item-1 was refreshed');
          const stale = await items.put({ v: encode(b('item-5')) }, 5);
          assert.equal(stale.ok ? 0 : stale.code, 202);
          assert.equal(await items.count(), 3);
          assert.ok(await items.get(targets[2] as Uint8Array, 40));
        }),
      ));

    it('at capacity sweeps every expired item, and evicts the stalest even out of clock order', () =>
      open({ itemLimits: { maxItems: 3, ttlMs: 100 } }).then((s) =>
        using(s, async ({ items }) => {
          const put = async (n: number, now: number): Promise<Uint8Array> => {
            const out = await items.put({ v: encode(b(`item-${n}`)) }, now);
            assert.ok(out.ok);
            return out.item.target;
          };
          for (let i = 1; i <= 3; i++) await put(i, i);
          const four = await put(4, 200);
          assert.equal(await items.count(), 1, 'all three swept');
          const five = await put(5, 230);
          const six = await put(6, 210); // the clock stepped back
          await put(7, 240);
          assert.equal(await items.get(four, 240), undefined, 'item-4 was the stalest');
          await put(8, 245);
          assert.equal(await items.count(), 3);
          assert.equal(await items.get(six, 245), undefined, 'then item-6, stored later but staler');
          assert.ok(await items.get(five, 245));
        }),
      ));
  });

  describe('state', () => {
    it('saves and loads named bytes', () =>
      open().then((s) =>
        using(s, async ({ state }) => {
          assert.equal(await state.loadState('routing-table'), undefined);
          const bytes = new Uint8Array([0, 1, 2, 0, 255, 0]);
          await state.saveState('routing-table', bytes);
          assert.deepEqual(await state.loadState('routing-table'), bytes);
          await state.saveState('routing-table', b('v2'));
          assert.deepEqual(await state.loadState('routing-table'), b('v2'));
          await state.saveState('empty', new Uint8Array(0));
          assert.deepEqual(await state.loadState('empty'), new Uint8Array(0));
        }),
      ));
  });

  describe('persistence', () => {
    it('finds peers, items and state again after close and reopen', async (t) => {
      if (!backend().persistent) {
        t.diagnostic('not a persistent backend: nothing to reopen');
        return;
      }
      const location = backend().newLocation();
      const salt = b('salt');
      await using(
        await backend().open(location, { peerLimits: { ttlMs: 1_000 } }),
        async ({ peers, items, state }) => {
          await peers.announce(ih(1), v4(1), true, 100);
          await peers.announce(ih(1), makeAddress('2001:db8::7', 51413), false, 200);
          assert.ok((await items.put({ v: encode(b('immutable')) }, 100)).ok);
          assert.ok((await items.put(signMutable(pair, 8, { a: 1 }, salt), 100)).ok);
          await state.saveState('node', b('routing table bytes'));
        },
      );
      await using(
        await backend().open(location, { peerLimits: { ttlMs: 1_000 } }),
        async ({ peers, items, state }) => {
          assert.deepEqual(await peers.counts(), { infohashes: 1, peers: 2 });
          const four = await peers.peers(ih(1), 10, 4, 300);
          assert.deepEqual(hosts(four), ['10.0.0.1:6881']);
          assert.equal(four[0]?.seed, true);
          assert.equal(four[0]?.expiresAt, 1_100);
          assert.deepEqual(hosts(await peers.peers(ih(1), 10, 6, 300)), ['2001:db8::7:51413']);
          assert.deepEqual(
            (await items.get(immutableTarget(b('immutable')), 300))?.v,
            encode(b('immutable')),
          );
          const mutable = await items.get(mutableTarget(pair.publicKey, salt), 300);
          assert.equal(mutable?.seq, 8);
          assert.deepEqual(mutable?.salt, salt);
          assert.deepEqual(mutable?.k, pair.publicKey);
          assert.deepEqual(mutable?.sig, signMutable(pair, 8, { a: 1 }, salt).sig);
          assert.equal(await items.count(), 2);
          const low = await items.put(signMutable(pair, 7, { a: 0 }, salt), 300);
          assert.equal(low.ok ? 0 : low.code, 302, 'the stored seq still binds after reopening');
          assert.deepEqual(await state.loadState('node'), b('routing table bytes'));
          assert.equal(await peers.expire(1_200), 2);
        },
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe('storage contract: memory', () => {
  storageContract(() => ({
    newLocation: () => '',
    open: (_location, limits) => openStorage({ kind: 'memory', ...limits }),
    openBackends: async () => ({
      peers: new MemoryPeerBackend(),
      items: new MemoryItemBackend(),
      close: async () => undefined,
    }),
    persistent: false,
    synchronousPeers: true,
  }));
});

describe('storage contract: sqlite', () => {
  let dir = '';
  let n = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kadmium-sqlite-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  storageContract(() => ({
    newLocation: () => join(dir, `store-${++n}.db`),
    open: (path, limits) => openStorage({ kind: 'sqlite', path, ...limits }),
    openBackends: async (path) => new SqliteStorage(path),
    persistent: true,
    synchronousPeers: true,
  }));
});

describe('storage contract: redis', () => {
  let server: RedisServer | undefined;
  let n = 0;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server?.stop());
  storageContract(() => ({
    newLocation: () => `kadmium:test-${process.pid}-${++n}:`,
    open: (namespace, limits) => {
      if (!server) throw new Error('redis-server did not start; see the before hook error');
      return openStorage({ kind: 'redis', url: server.url, namespace, ...limits });
    },
    openBackends: (namespace) => {
      if (!server) throw new Error('redis-server did not start; see the before hook error');
      return RedisStorage.open({ url: server.url, namespace });
    },
    persistent: true,
    synchronousPeers: false,
  }));
});
