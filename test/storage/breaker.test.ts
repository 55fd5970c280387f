import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BreakerChange } from '../../src/storage/breaker.js';
import { openStorage, type Storage } from '../../src/storage/open.js';
import { RedisStorage } from '../../src/storage/redis.js';
import { immutableTargetOfEncoded } from '../../src/protocols/mainline/bep44.js';
import { encode } from '../../src/wire/bencode.js';
import { type RedisServer, startRedisServer, until } from './redis-server.js';

const RECOVER_LIMIT_MS = 20_000;

describe('item storage circuit breaker over a real redis-server', () => {
  let server: RedisServer | undefined;
  let storage: Storage | undefined;
  let reader: RedisStorage | undefined;

  after(async () => {
    await storage?.close().catch(() => undefined);
    await reader?.close().catch(() => undefined);
    await server?.stop();
  });

  it('serves from memory while Redis is down, and writes everything back when it restarts empty', async () => {
    server = await startRedisServer();
    const { port, url } = server;
    const namespace = 'kadmium:breaker-test:';
    const changes: BreakerChange[] = [];
    storage = await openStorage({ kind: 'redis', url, namespace, onBreaker: (c) => changes.push(c) });
    const a = encode(new TextEncoder().encode('stored while Redis was up'));
    const b = encode(new TextEncoder().encode('stored while Redis was down'));
    assert.ok((await storage.items.put({ v: a }, Date.now())).ok);

    await server.stop();
    const t0 = Date.now();
    const putB = await storage.items.put({ v: b }, Date.now());
    assert.ok(putB.ok, 'a put during the outage succeeds (in memory)');
    assert.ok(Date.now() - t0 < 5_000, `the put did not block: ${Date.now() - t0} ms`);
    assert.equal(changes[0]?.state, 'open', JSON.stringify(changes));
    assert.ok(
      await storage.items.get(immutableTargetOfEncoded(a), Date.now()),
      'old item served from memory',
    );
    assert.ok(
      await storage.items.get(immutableTargetOfEncoded(b), Date.now()),
      'new item served from memory',
    );

    // The server comes back on the same port with nothing in it (no persistence).
    server = await startRedisServer({ port });
    const restarted = Date.now();
    const closed = await until(() => changes.some((c) => c.state === 'closed'), RECOVER_LIMIT_MS);
    assert.ok(closed, `no resync within ${RECOVER_LIMIT_MS} ms: ${JSON.stringify(changes)}`);
    const recoverMs = Date.now() - restarted;
    assert.match(changes.at(-1)?.detail ?? '', /wrote 2 live item/);
    // Zero items lost: Redis itself holds both again.
    reader = await RedisStorage.open({ url, namespace });
    assert.ok(await reader.items.load(immutableTargetOfEncoded(a)), 'item A is back in Redis');
    assert.ok(await reader.items.load(immutableTargetOfEncoded(b)), 'item B reached Redis');
    assert.ok(recoverMs < RECOVER_LIMIT_MS);
  });
});
