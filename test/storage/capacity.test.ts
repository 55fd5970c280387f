/**
 * Eviction at the cap takes a few of the stalest at once (1/1024 of the cap, at most 16), and
 * never one fresher than the incoming record.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ItemStore, MemoryItemBackend } from '../../src/storage/item-store.js';
import { MemoryPeerStore } from '../../src/storage/peer-store.js';
import type { Address } from '../../src/transport/address.js';
import { encode } from '../../src/wire/bencode.js';

/** Two evicted per eviction at this cap. */
const CAP = 2 * 1024;
const TTL_MS = 60_000;
const ih = (i: number): Uint8Array => {
  const out = new Uint8Array(20);
  new DataView(out.buffer).setUint32(0, i);
  return out;
};
const address = (i: number): Address => ({
  host: `10.0.${(i >>> 8) & 255}.${i & 255}`,
  port: 6881,
  family: 4,
});
const value = (i: number): Uint8Array => encode(Buffer.from(`item-${i}`));

describe('capacity: eviction batches at the cap', () => {
  it('evicts the two stalest peers at a cap of 2048, then admits the next without evicting', async () => {
    const peers = new MemoryPeerStore({ ttlMs: TTL_MS, maxPeers: CAP, maxPeersPerInfohash: 200 });
    for (let i = 0; i < CAP; i++) await peers.announce(ih(i), address(i), false, 1_000 + i);
    await peers.announce(ih(CAP), address(CAP), false, 1_000 + CAP);
    assert.equal((await peers.counts()).peers, CAP - 1, 'two went for one');
    assert.deepEqual(await peers.peers(ih(0), 1, 4, 1_000 + CAP), []);
    assert.deepEqual(await peers.peers(ih(1), 1, 4, 1_000 + CAP), []);
    assert.equal((await peers.peers(ih(2), 1, 4, 1_000 + CAP)).length, 1);
    await peers.announce(ih(CAP + 1), address(CAP + 1), false, 1_001 + CAP);
    assert.equal((await peers.counts()).peers, CAP);
    assert.equal((await peers.peers(ih(2), 1, 4, 1_001 + CAP)).length, 1, 'nothing evicted below the cap');
  });

  it('never evicts a record fresher than the incoming one, whatever the batch', async () => {
    const peers = new MemoryPeerStore({ ttlMs: TTL_MS, maxPeers: CAP, maxPeersPerInfohash: 200 });
    await peers.announce(ih(0), address(0), false, 0);
    for (let i = 1; i < CAP; i++) await peers.announce(ih(i), address(i), false, 1_000 + i);
    await peers.announce(ih(CAP), address(CAP), false, 500);
    assert.equal((await peers.counts()).peers, CAP, 'only the one staler than it went');
    assert.deepEqual(await peers.peers(ih(0), 1, 4, 500), []);
    assert.equal((await peers.peers(ih(1), 1, 4, 500)).length, 1);
    assert.equal((await peers.peers(ih(CAP), 1, 4, 500)).length, 1);
  });

  it('evicts items the same way, and refuses a put staler than everything held', async () => {
    const items = new ItemStore(new MemoryItemBackend(), {
      ttlMs: TTL_MS,
      maxItems: CAP,
      maxValueBytes: 1000,
    });
    const targets: Uint8Array[] = [];
    for (let i = 0; i < CAP; i++) {
      const put = await items.put({ v: value(i) }, 1_000 + i);
      assert.ok(put.ok);
      targets.push(put.item.target);
    }
    const stale = await items.put({ v: value(CAP) }, 999);
    assert.equal(stale.ok ? 0 : stale.code, 202);
    assert.equal(await items.count(), CAP);
    assert.ok((await items.put({ v: value(CAP + 1) }, 1_000 + CAP)).ok);
    assert.equal(await items.count(), CAP - 1);
    assert.equal(await items.get(targets[0] as Uint8Array, 1_000 + CAP), undefined);
    assert.equal(await items.get(targets[1] as Uint8Array, 1_000 + CAP), undefined);
    assert.ok(await items.get(targets[2] as Uint8Array, 1_000 + CAP));
  });
});
