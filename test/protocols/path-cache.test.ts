import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { RoutingTable } from '../../src/kademlia/routing-table.js';
import { CACHE_MAX_BEYOND, CACHE_MIN_TTL_MS, cacheTtlMs } from '../../src/protocols/mainline/path-cache.js';
import { immutableTargetOfEncoded } from '../../src/protocols/mainline/bep44.js';
import { simulate } from '../../src/sim/simulate.js';
import { ItemStore, MemoryItemBackend } from '../../src/storage/item-store.js';
import { encode } from '../../src/wire/bencode.js';

EventEmitter.defaultMaxListeners = 256;

const HOUR = 60 * 60_000;

/**
 * A table around local id 01 ff 00.. holding the first `closer` of 24 contacts, every one nearer
 * than us to the zero target, spread over three buckets (a bucket holds at most K).
 */
function tableWith(closer: number) {
  const local = new Uint8Array(20);
  local[0] = 0x01;
  local[1] = 0xff;
  const table = new RoutingTable(asNodeId(local), { k: 8, exemptLocal: true });
  for (let i = 0; i < closer; i++) {
    const id = new Uint8Array(20);
    const j = i % 8;
    if (i < 8)
      id[1] = j; // 00 0j: differs from us at bit 7
    else if (i < 16)
      [id[0], id[1]] = [0x01, j * 16]; // 01 j0: at bit 8
    else [id[0], id[1]] = [0x01, 0x80 + j * 8]; // 01 8j: at bit 9
    id[19] = 1;
    table.observe({ id: asNodeId(id), address: { host: `10.0.${i}.1`, port: 1, family: 4 } }, true, 0);
  }
  assert.equal(table.size, closer);
  return { table, local };
}

describe('path cache (Kademlia §2.5 for BEP 44 items)', () => {
  const target = new Uint8Array(20);

  it('keeps no cache copy among the K closest, and halves the TTL per node beyond them', () => {
    assert.equal(cacheTtlMs(tableWith(7).table, tableWith(7).local, target, 8, 2 * HOUR), undefined);
    const at = (n: number) => {
      const { table, local } = tableWith(n);
      return cacheTtlMs(table, local, target, 8, 2 * HOUR);
    };
    assert.equal(at(8), HOUR);
    assert.equal(at(9), HOUR / 2);
    assert.equal(at(10), HOUR / 4);
    assert.equal(at(8 + CACHE_MAX_BEYOND), undefined, 'too far: declined');
    // Short full TTLs fall below the floor sooner.
    assert.equal(
      cacheTtlMs(tableWith(9).table, tableWith(9).local, target, 8, 3 * CACHE_MIN_TTL_MS),
      undefined,
    );
  });

  it('never serves a cache copy past its TTL, and never shortens a live item', async () => {
    const store = new ItemStore(new MemoryItemBackend());
    const v = encode(new TextEncoder().encode('popular'));
    const t = immutableTargetOfEncoded(v);
    assert.ok((await store.put({ v }, 1_000, 60_000)).ok);
    assert.ok(await store.get(t, 60_999));
    assert.equal(await store.get(t, 61_000), undefined, 'expired at storedAt + ttl');
    const other = encode(new TextEncoder().encode('primary'));
    const t2 = immutableTargetOfEncoded(other);
    assert.ok((await store.put({ v: other }, 0)).ok);
    const full = (await store.get(t2, 0))?.expiresAt as number;
    assert.ok((await store.put({ v: other }, 10, 60_000)).ok);
    assert.equal((await store.get(t2, 10))?.expiresAt, full, 'a cache put keeps the longer life');
  });

  it('on a Zipf workload, getters meet copies off the K closest only with the cache on', async () => {
    const base = { nodes: 300, seed: 9, scenario: 'zipf', lookups: 150, build: 'fast' as const };
    const off = await simulate({ ...base, latency: [] });
    const on = await simulate({ ...base, latency: ['path-cache'] });
    assert.equal(off.overall.successRate, 1, off.replay);
    assert.equal(on.overall.successRate, 1, on.replay);
    assert.equal(off.overall.hitRate, 0, 'no copies outside the K closest without the cache');
    assert.ok(on.overall.hitRate > 0, `hit rate ${on.overall.hitRate}; ${on.replay}`);
  });
});
