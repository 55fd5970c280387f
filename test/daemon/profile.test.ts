// Profiling: CPU profiles and heap snapshots on request (token always required), `kadmium profile`
// against a served app, and event-loop delay and GC pauses in the statistics and /metrics.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type App, createApp } from '../../src/daemon/http/app.js';
import type { ApiRequest, ApiResponse } from '../../src/daemon/http/types.js';
import { Dht } from '../../src/node/dht.js';
import { Statistics } from '../../src/services/statistics.js';

const TOKEN = 'profile-token-0123456789';
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const post = (url: string, token?: string): ApiRequest => ({
  method: 'POST',
  url,
  headers: token ? { authorization: `Bearer ${token}` } : {},
});
const code = (res: ApiResponse) => (JSON.parse(res.body) as { error: { code: string } }).error.code;

describe('daemon profiling', { timeout: 60_000 }, () => {
  let dht: Dht;
  let stats: Statistics;
  let open: App;
  let guarded: App;
  let server: Server | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kadmium-profile-'));
    dht = new Dht({ host: '127.0.0.1', port: 0, ipv6: false, bootstrap: false });
    await dht.listen();
    stats = new Statistics(dht, { tickMs: 60_000 });
    stats.start();
    const ctx = { dht, stats, storageBackend: 'memory', version: 'test', state: () => 'running' as const };
    open = createApp({ ...ctx, token: undefined });
    guarded = createApp({ ...ctx, token: TOKEN });
  });
  after(async () => {
    server?.close();
    stats?.stop();
    await dht?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses without a configured token, and without the right bearer token', async () => {
    const none = await open.handle(post('/api/profile/cpu'));
    assert.equal(none.status, 403);
    assert.equal(code(none), 'PROFILING_DISABLED');
    assert.equal((await guarded.handle(post('/api/profile/heap'))).status, 401);
    assert.equal((await guarded.handle(post('/api/profile/cpu', 'wrong'))).status, 401);
    assert.equal((await guarded.handle(post('/api/profile/cpu?seconds=600', TOKEN))).status, 422);
  });

  it('captures a CPU profile, and refuses a second capture while one runs', async () => {
    const first = guarded.handle(post('/api/profile/cpu?seconds=0.5', TOKEN));
    const second = await guarded.handle(post('/api/profile/heap', TOKEN));
    assert.equal(second.status, 429);
    assert.equal(code(second), 'PROFILER_BUSY');
    const res = await first;
    assert.equal(res.status, 200);
    assert.match(res.headers['content-disposition'] ?? '', /\.cpuprofile"$/);
    const profile = JSON.parse(res.body) as {
      nodes: unknown[];
      samples: number[];
      startTime: number;
      endTime: number;
    };
    assert.ok(profile.nodes.length > 0);
    assert.ok(profile.endTime - profile.startTime >= 400_000, 'about 0.5 s of profile, in microseconds');
  });

  it('captures a heap snapshot', async () => {
    const res = await guarded.handle(post('/api/profile/heap', TOKEN));
    assert.equal(res.status, 200);
    const snap = JSON.parse(res.body) as { snapshot: { node_count: number; meta: unknown } };
    assert.ok(snap.snapshot.node_count > 1000);
  });

  it('kadmium profile writes the profile the daemon returns', async () => {
    server = createServer((req, res) => {
      void guarded
        .handle({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers as Record<string, string>,
        })
        .then((r) => {
          res.writeHead(r.status, r.headers);
          res.end(r.body);
        });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const file = join(dir, 'p.cpuprofile');
    const child = spawn(
      process.execPath,
      [MAIN, 'profile', '--cpu', '0.3', '--api', `http://127.0.0.1:${port}`, '--out', file],
      { env: { ...process.env, KADMIUM_API_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const [exit] = (await once(child, 'exit')) as [number];
    assert.equal(exit, 0, output);
    assert.match(output, /wrote .*p\.cpuprofile/);
    assert.ok((JSON.parse(readFileSync(file, 'utf8')) as { nodes: unknown[] }).nodes.length > 0);
  });

  it('reports event-loop delay and GC pauses in the statistics and /metrics', async () => {
    const blockUntil = performance.now() + 60;
    while (performance.now() < blockUntil) {
      // block the loop for 60 ms
    }
    // Allocate until a collection is seen (usually one was already, during the heap snapshot).
    const junk: number[][] = [];
    for (let i = 0; i < 200 && stats.runtime.snapshot().gc.count === 0; i++) {
      junk.splice(0, junk.length, ...Array.from({ length: 20_000 }, (_, j) => [j, i]));
      await new Promise((r) => setImmediate(r));
    }
    const rt = (await stats.snapshot()).runtime;
    assert.ok(rt.eventLoopDelayMs.max >= 40, `max event-loop delay ${rt.eventLoopDelayMs.max} ms`);
    assert.ok(rt.gc.count > 0, 'a garbage collection was seen');
    assert.ok(rt.gc.totalPauseMs > 0);
    const metrics = (await open.handle({ method: 'GET', url: '/metrics', headers: {} })).body;
    const maxDelay = /^kadmium_event_loop_delay_seconds\{quantile="1"\} (\S+)$/m.exec(metrics)?.[1];
    assert.ok(Number(maxDelay) >= 0.04, `kadmium_event_loop_delay_seconds max = ${maxDelay}`);
    assert.match(metrics, /^kadmium_gc_pauses_total\{kind="\w+"\} [1-9]/m);
  });
});
