import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStorage } from '../../src/storage/open.js';
import { MemoryPeerStore } from '../../src/storage/peer-store.js';
import { makeAddress } from '../../src/transport/address.js';
import { KadmiumError } from '../../src/util/errors.js';

/** A loopback port with nothing listening on it. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

describe('openStorage', () => {
  it('fails with STORAGE_UNAVAILABLE and a hint when Redis cannot be reached', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    await assert.rejects(openStorage({ kind: 'redis', url, namespace: 'kadmium:test:' }), (err: unknown) => {
      assert.ok(err instanceof KadmiumError);
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      assert.match(err.message, /start redis-server or fix the storage url/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'gives up promptly');
  });

  it('fails with STORAGE_UNAVAILABLE when the SQLite file cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-open-'));
    try {
      await assert.rejects(openStorage({ kind: 'sqlite', path: join(dir, 'missing', 'dir', 'x.db') }), {
        code: 'STORAGE_UNAVAILABLE',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes once, however often close is called', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-open-'));
    try {
      const storage = await openStorage({ kind: 'sqlite', path: join(dir, 'x.db') });
      await storage.peers.close();
      await storage.close();
      await storage.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps MemoryPeerStore constructible as the node uses it', async () => {
    const store = new MemoryPeerStore({ ttlMs: 1_000, maxPeersPerInfohash: 2, maxPeers: 10 });
    await store.announce(new Uint8Array(20), makeAddress('127.0.0.1', 6881), false, 0);
    assert.deepEqual(await store.counts(), { infohashes: 1, peers: 1 });
    await store.close();
  });
});
