import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BreakerChange } from '../../src/storage/breaker.js';
import { openStorage, type Storage } from '../../src/storage/open.js';
import { RedisStorage } from '../../src/storage/redis.js';
import type { Address } from '../../src/transport/address.js';
import { type RedisServer, startRedisServer, until } from './redis-server.js';

const RECOVER_LIMIT_MS = 20_000;

const before: Address = { host: '192.0.2.1', port: 6881, family: 4 };
const during: Address = { host: '192.0.2.2', port: 6882, family: 4 };
const infohash = new Uint8Array(20).fill(7);

describe('peer storage circuit breaker over a real redis-server', () => {
  let server: RedisServer | undefined;
  let storage: Storage | undefined;
  let reader: RedisStorage | undefined;

  after(async () => {
    await storage?.close().catch(() => undefined);
    await reader?.close().catch(() => undefined);
    await server?.stop();
  });

  it('announces and get_peers keep working while Redis is down; every peer is back in Redis after it restarts empty', async () => {
    server = await startRedisServer();
    const { port, url } = server;
    const namespace = 'kadmium:peer-breaker-test:';
    const changes: BreakerChange[] = [];
    storage = await openStorage({ kind: 'redis', url, namespace, onBreaker: (c) => changes.push(c) });
    await storage.peers.announce(infohash, before, false, Date.now());

    await server.stop();
    const t0 = Date.now();
    await storage.peers.announce(infohash, during, true, Date.now());
    assert.ok(Date.now() - t0 < 5_000, `the announce did not block: ${Date.now() - t0} ms`);
    assert.ok(
      changes.some((c) => c.state === 'open' && /peer storage/.test(c.detail)),
      JSON.stringify(changes),
    );
    const served = await storage.peers.peers(infohash, 10, 4, Date.now());
    assert.deepEqual(served.map((p) => p.address.host).sort(), ['192.0.2.1', '192.0.2.2']);

    server = await startRedisServer({ port });
    const closed = await until(
      () => changes.some((c) => c.state === 'closed' && /peer storage/.test(c.detail)),
      RECOVER_LIMIT_MS,
    );
    assert.ok(closed, `no peer resync within ${RECOVER_LIMIT_MS} ms: ${JSON.stringify(changes)}`);
    assert.match(
      changes.find((c) => c.state === 'closed' && /peer/.test(c.detail))?.detail ?? '',
      /wrote 2 live peer/,
    );
    reader = await RedisStorage.open({ url, namespace });
    assert.ok(
      await reader.peers.loadOne(infohash, before),
      'the peer announced before the outage is back in Redis',
    );
    assert.ok(
      await reader.peers.loadOne(infohash, during),
      'the peer announced during the outage reached Redis',
    );
  });
});
