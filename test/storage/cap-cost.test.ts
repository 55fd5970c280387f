/**
 * What admission costs at the caps (issue 11, defect 1): a full store must not re-count its
 * backend or sweep it whole on every announce or put. A counting wrapper around a backend records
 * every call the policy makes; at the cap the calls per operation must stay a small constant.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode } from '../../src/wire/bencode.js';
import { type ItemBackend, ItemStore, MemoryItemBackend } from '../../src/storage/item-store.js';
import { BackedPeerStore, MemoryPeerBackend, type PeerBackend } from '../../src/storage/peer-store.js';
import type { Address } from '../../src/transport/address.js';
import { RECOUNT_INTERVAL_MS, SWEEP_AT_CAP_MAX } from '../../src/storage/capacity.js';

interface Counted<T> {
  backend: T;
  /** Calls per method name. */
  calls: Map<string, number>;
  /** Arguments of every expire() call. */
  expireArgs: unknown[][];
  total(): number;
  reset(): void;
}

/** Wrap a backend so every method call is counted; results pass through untouched. */
function counting<T extends object>(inner: T): Counted<T> {
  const calls = new Map<string, number>();
  const expireArgs: unknown[][] = [];
  const backend = new Proxy(inner, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        if (name === 'expire') expireArgs.push(args);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    backend,
    calls,
    expireArgs,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset() {
      calls.clear();
      expireArgs.length = 0;
    },
  };
}

const CAP = 300;
const TTL_MS = 60_000;
/** Operations timed at the cap: more than the cap, so every held record is evicted or swept once. */
const AT_CAP = 2 * CAP;
/** Backend calls one admission may make at the cap, on average (below it: about three). */
const CALLS_PER_OP = 8;

const ih = (i: number): Uint8Array => {
  const out = new Uint8Array(20);
  new DataView(out.buffer).setUint32(0, Math.floor(i / 10));
  return out;
};
const address = (i: number): Address => ({
  host: `10.0.${(i >>> 8) & 255}.${i & 255}`,
  port: 6881,
  family: 4,
});

async function fullPeerStore(): Promise<{ store: BackedPeerStore; counted: Counted<PeerBackend> }> {
  const counted = counting<PeerBackend>(new MemoryPeerBackend());
  const store = new BackedPeerStore(counted.backend, {
    ttlMs: TTL_MS,
    maxPeers: CAP,
    maxPeersPerInfohash: 200,
  });
  for (let i = 0; i < CAP; i++) await store.announce(ih(i), address(i), false, i);
  assert.equal((await store.counts()).peers, CAP);
  counted.reset();
  return { store, counted };
}

async function fullItemStore(): Promise<{ store: ItemStore; counted: Counted<ItemBackend> }> {
  const counted = counting<ItemBackend>(new MemoryItemBackend());
  const store = new ItemStore(counted.backend, { ttlMs: TTL_MS, maxItems: CAP, maxValueBytes: 1000 });
  for (let i = 0; i < CAP; i++) assert.ok((await store.put({ v: encode(Buffer.from(`item-${i}`)) }, i)).ok);
  assert.equal(await store.count(), CAP);
  counted.reset();
  return { store, counted };
}

/** Every sweep or eviction made at the cap names how many records it may delete, and few may go. */
function assertBounded(expireArgs: unknown[][]): void {
  for (const args of expireArgs) {
    const max = args[1];
    assert.ok(
      typeof max === 'number' && max <= SWEEP_AT_CAP_MAX,
      `expire(${args.join(', ')}) is not bounded`,
    );
  }
}

describe('storage caps: cost per operation at the cap', () => {
  it('an announce at the peer cap (all held peers live) neither re-counts nor sweeps everything', async () => {
    const { store, counted } = await fullPeerStore();
    for (let i = CAP; i < CAP + AT_CAP; i++) await store.announce(ih(i), address(i), false, i);
    assert.ok((counted.calls.get('counts') ?? 0) <= 1, 'counts() at most once a minute, not per announce');
    assertBounded(counted.expireArgs);
    assert.ok(counted.total() <= CALLS_PER_OP * AT_CAP, `${counted.total()} backend calls`);
    assert.equal((await store.counts()).peers, CAP, 'still exactly at the cap');
    const newest = await store.peers(ih(CAP + AT_CAP - 1), 10, 4, CAP + AT_CAP);
    assert.equal(newest.length, 10, 'the freshest announces were kept');
  });

  it('an announce at the peer cap (all held peers expired) sweeps in bounded batches', async () => {
    const { store, counted } = await fullPeerStore();
    const later = TTL_MS + CAP;
    // As many as are held: each expired peer makes room once, none needs evicting.
    for (let i = 0; i < CAP; i++) await store.announce(ih(CAP + i), address(CAP + i), false, later + i);
    assert.ok((counted.calls.get('counts') ?? 0) <= 1, 'counts() at most once a minute, not per announce');
    assertBounded(counted.expireArgs);
    assert.ok(
      counted.expireArgs.length <= CAP / 50,
      `${counted.expireArgs.length} sweeps for ${CAP} operations`,
    );
    assert.ok(counted.total() <= CALLS_PER_OP * CAP, `${counted.total()} backend calls`);
    assert.equal((await store.counts()).peers, CAP);
  });

  it('a put at the item cap (all held items live) neither re-counts nor sweeps everything', async () => {
    const { store, counted } = await fullItemStore();
    for (let i = CAP; i < CAP + AT_CAP; i++)
      assert.ok((await store.put({ v: encode(Buffer.from(`item-${i}`)) }, i)).ok);
    assert.ok((counted.calls.get('count') ?? 0) <= 1, 'count() at most once a minute, not per put');
    assertBounded(counted.expireArgs);
    assert.ok(counted.total() <= CALLS_PER_OP * AT_CAP, `${counted.total()} backend calls`);
    assert.equal(await store.count(), CAP);
  });

  it('a put at the item cap (all held items expired) sweeps in bounded batches', async () => {
    const { store, counted } = await fullItemStore();
    const later = TTL_MS + CAP;
    // As many as are held: each expired item makes room once, none needs evicting.
    for (let i = 0; i < CAP; i++)
      assert.ok((await store.put({ v: encode(Buffer.from(`item-${CAP + i}`)) }, later + i)).ok);
    assert.ok((counted.calls.get('count') ?? 0) <= 1, 'count() at most once a minute, not per put');
    assertBounded(counted.expireArgs);
    assert.ok(
      counted.expireArgs.length <= CAP / 50,
      `${counted.expireArgs.length} sweeps for ${CAP} operations`,
    );
    assert.ok(counted.total() <= CALLS_PER_OP * CAP, `${counted.total()} backend calls`);
    assert.equal(await store.count(), CAP);
  });

  it('re-reads the total once a minute, so records a sibling store added are evicted then', async () => {
    // Two stores over one backend, as two nodes sharing one Redis: each counts only its own adds.
    const counted = counting<PeerBackend>(new MemoryPeerBackend());
    const limits = { ttlMs: TTL_MS, maxPeers: 10, maxPeersPerInfohash: 200 };
    const a = new BackedPeerStore(counted.backend, limits);
    const b = new BackedPeerStore(counted.backend, limits);
    await a.announce(ih(0), address(0), false, 0);
    await b.announce(ih(1), address(1), false, 1);
    for (let i = 2; i < 12; i++) await (i % 2 === 0 ? a : b).announce(ih(i), address(i), false, i);
    assert.equal(counted.calls.get('counts'), 2, 'each store counted once, on first need');
    assert.equal((await a.counts()).peers, 12, 'over the cap by what the other added');
    await a.announce(ih(12), address(12), false, 100);
    assert.equal((await a.counts()).peers, 13, 'within the minute, nothing re-read');
    await a.announce(ih(13), address(13), false, RECOUNT_INTERVAL_MS);
    assert.equal((await a.counts()).peers, 10, 'a minute on: re-read, and back at the cap');
    // Peers 0-9 share one infohash; 13 held made four evictions, the four stalest.
    const left = await a.peers(ih(0), 20, 4, RECOUNT_INTERVAL_MS);
    assert.deepEqual(
      left.map((p) => p.address.host),
      ['10.0.0.9', '10.0.0.8', '10.0.0.7', '10.0.0.6', '10.0.0.5', '10.0.0.4'],
    );
  });
});
