import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryPeerBackend } from '../../src/storage/peer-store.js';
import { ownMap, sharedEmptyMap } from '../../src/util/shared-empty-map.js';

describe('shared empty maps', () => {
  it('hands every owner its own map on first write, and keeps it after', () => {
    let a = sharedEmptyMap<string, number>();
    let b = sharedEmptyMap<string, number>();
    assert.equal(a, b, 'one shared map until written');
    a = ownMap(a);
    a.set('x', 1);
    assert.notEqual(a, b);
    assert.equal(b.size, 0, 'the shared map stayed empty');
    assert.equal(ownMap(a), a, 'an owned map is kept');
    b = ownMap(b);
    assert.equal(b.get('x'), undefined);
  });

  it('keeps memory backends apart', async () => {
    const one = new MemoryPeerBackend();
    const two = new MemoryPeerBackend();
    const infohash = new Uint8Array(20).fill(1);
    await one.store({
      infohash,
      address: { host: '1.2.3.4', port: 1, family: 4 },
      seed: false,
      storedAt: 0,
      expiresAt: 1000,
    });
    assert.equal((await one.counts()).peers, 1);
    assert.equal((await two.counts()).peers, 0);
  });
});
