import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TABLE_FILE } from '../../src/daemon/data-dir.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { startRedisServer } from '../storage/redis-server.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

/** The first SSE event of a stream, parsed. */
function firstEvent(url: string): Promise<{ event: string; data: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = request(url, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        const m = /event: (\w+)\ndata: (.*)\n\n/.exec(buffer);
        if (m) {
          res.destroy();
          resolve({ event: m[1] as string, data: JSON.parse(m[2] as string) as Record<string, unknown> });
        }
      });
    });
    r.on('error', reject);
    r.setTimeout(10_000, () => r.destroy(new Error('no SSE event in 10 s')));
    r.end();
  });
}

describe('daemon lifecycle', () => {
  let net: Testnet;

  before(async () => {
    net = await createTestnet(6);
  });

  after(async () => {
    await net.destroy();
  });

  it('serves over HTTP, streams snapshots, saves the table on stop and restores it', async () => {
    const config = testConfig(net.bootstrap, { 'stats.tick_ms': '200' });
    const { log, lines } = memoryLogger();
    const daemon = await Daemon.start({ config, log });
    let stopped = false;
    try {
      assert.ok(daemon.url?.startsWith('http://127.0.0.1:'));
      assert.ok(lines.some((l) => String(l.msg).startsWith(`dashboard: ${daemon.url}`)));
      await waitFor(() => daemon.dht.isBootstrapped, 10_000, 'bootstrap');
      const health = await fetch(`${daemon.url}health`);
      assert.equal(health.status, 200);
      const event = await firstEvent(`${daemon.url}events`);
      assert.equal(event.event, 'snapshot');
      assert.equal(event.data.id, Buffer.from(daemon.dht.id).toString('hex'));
      assert.ok(Array.isArray(event.data.map));
      const size = daemon.dht.table.size;
      assert.ok(size >= 5);
      await daemon.stop('test');
      stopped = true;
      assert.equal(daemon.state, 'stopping');
      await assert.rejects(fetch(`${daemon.url}health`), 'the API no longer accepts connections');
      const saved = JSON.parse(readFileSync(join(config.dataDir, TABLE_FILE), 'utf8')) as {
        id: string;
        nodes: unknown[];
      };
      assert.equal(saved.id, Buffer.from(daemon.dht.id).toString('hex'));
      assert.equal(saved.nodes.length, size);
      assert.ok(lines.some((l) => l.msg === 'stopped'));
    } finally {
      if (!stopped) await daemon.stop('test cleanup');
    }

    // Same data dir, no bootstrap routers: the saved table alone brings it back.
    const again = testConfig([], { data_dir: config.dataDir });
    const second = await Daemon.start({ config: again, log: memoryLogger().log });
    try {
      assert.equal(Buffer.from(second.dht.id).toString('hex'), Buffer.from(daemon.dht.id).toString('hex'));
      await waitFor(() => second.dht.table.size >= 5, 10_000, 'the restored nodes to answer');
    } finally {
      await second.stop('test');
    }
  });

  it('says plainly when the bootstrap routers are unreachable, and keeps the API up', async () => {
    // A loopback port nobody listens on stands in for an unreachable router.
    const config = testConfig(['127.0.0.1:9'], { 'api.enabled': 'false' });
    const { log, lines } = memoryLogger();
    const daemon = await Daemon.start({ config, log, dht: { timeoutMs: 200 } });
    try {
      const warning = await waitFor(
        () => lines.find((l) => l.level === 'warn' && /unreachable/.test(String(l.msg))),
        10_000,
        'the unreachable warning',
      );
      assert.match(
        String(warning.msg),
        /bootstrap routers \(127\.0\.0\.1:9\) are unreachable.*retries with backoff/,
      );
      await waitFor(
        () => lines.find((l) => /retrying bootstrap in/.test(String(l.msg))),
        10_000,
        'retry line',
      );
      assert.equal(daemon.state, 'running');
    } finally {
      await daemon.stop('test');
    }
    assert.ok(existsSync(join(config.dataDir, TABLE_FILE)));
  });

  it('keeps its data in a shared Redis when storage.backend = redis', async () => {
    const redis = await startRedisServer();
    try {
      const config = testConfig(net.bootstrap, {
        'storage.backend': 'redis',
        'storage.redis_url': redis.url,
      });
      const daemon = await Daemon.start({ config, log: memoryLogger().log });
      try {
        const status = (await (await fetch(`${daemon.url}api/status`)).json()) as Record<string, unknown>;
        assert.match(JSON.stringify(status), /redis redis:\/\/127\.0\.0\.1:\d+ namespace mainline/);
        await waitFor(() => daemon.dht.isBootstrapped, 10_000, 'bootstrap');
        const put = await fetch(`${daemon.url}api/items`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ value: 'kept in redis' }),
        });
        assert.equal(put.status, 200, await put.clone().text());
      } finally {
        await daemon.stop('test');
      }
    } finally {
      await redis.stop();
    }
  });
});
