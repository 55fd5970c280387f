import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DhtDiscovery } from '../../src/discovery/adapter.js';
import { DiscoveryHttpClient } from '../../src/discovery/http-client.js';
import { HybridDiscovery } from '../../src/discovery/hybrid.js';
import type { OverlayNode } from '../../src/node/overlay-node.js';
import { listenOverlay, parseOverlayBootstrap } from '../../src/node/overlay-tcp.js';
import { DMSG_SALT } from '../../src/protocols/discovery/dht-values.js';
import { type DiscEntry, encodeEntry, signEntry } from '../../src/protocols/discovery/entry.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget } from '../../src/protocols/overlay/item.js';
import { saveKeyFile } from '../../src/protocols/overlay/key-file.js';
import { toHex } from '../../src/util/bytes.js';
import { type RedisServer, startRedisServer } from '../storage/redis-server.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const children = new Set<ChildProcess>();
const id = (): OverlayIdentity => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
const clientEntry = (who: OverlayIdentity, seq: bigint): DiscEntry =>
  signEntry(
    {
      version: '0.0.1',
      sequence: seq,
      timestamp: BigInt(Date.now()) * 1_000_000n,
      static: who.publicKey,
      client: { delegatedServers: [] },
      clientType: 'visor',
      protocol: '',
    },
    who,
  );

/** Run a kadmium command that prints one JSON line when it is up; resolve with that line. */
async function run(
  args: string[],
): Promise<{ child: ChildProcess; info: Record<string, unknown>; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start in 30 s: ${stderr}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${code}: ${stderr}`));
    });
  });
  return { child, info, stderr: () => stderr };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(what: string, check: () => Promise<boolean>, limitMs = 20_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/**
 * Real processes on loopback: a Redis, two full nodes sharing it (`kadmium overlay start`), the
 * discovery server on the same Redis (`kadmium discovery`), twenty overlay nodes and a hybrid
 * client (in this process).
 */
describe('discovery with real processes: server, full nodes on one Redis, 20 overlay nodes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-disc-proc-'));
  let redis: RedisServer | undefined;
  const nodes: OverlayNode[] = [];
  let dht: DhtDiscovery | undefined;
  after(async () => {
    dht?.close();
    await Promise.all(nodes.map((n) => n.close()));
    for (const child of children) child.kill('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves reads from the DHT while the server is down, writes again after a restart, survives Redis stopping', async () => {
    redis = await startRedisServer();
    const serverKey = id();
    const keys = [id(), id()];
    const files = ['a.key', 'b.key', 'server.key'].map((f) => join(dir, f));
    saveKeyFile(files[0]!, keys[0]!);
    saveKeyFile(files[1]!, keys[1]!);
    saveKeyFile(files[2]!, serverKey);
    const trust = ['--trust', toHex(serverKey.publicKey)];
    const fullArgs = (key: string, boot: string[]) => [
      'overlay',
      'start',
      '--port',
      '0',
      '--full-node',
      '--difficulty',
      '0/0',
      '--redis',
      redis!.url,
      '--key',
      key,
      ...trust,
      ...boot,
    ];
    const a = await run(fullArgs(files[0]!, []));
    const aAddr = a.info.address as string;
    let b = await run(fullArgs(files[1]!, ['--bootstrap', aAddr]));
    const bAddr = b.info.address as string;
    const serverArgs = [
      'discovery',
      '--port',
      '0',
      '--redis',
      redis.url,
      '--key',
      files[2]!,
      '--bootstrap',
      aAddr,
      '--full-node',
      aAddr,
      '--full-node',
      bAddr,
    ];
    let server = await run(serverArgs);
    let http = new DiscoveryHttpClient(server.info.url as string);

    const boot = [parseOverlayBootstrap(aAddr)];
    for (let i = 0; i < 20; i++) {
      const node = await listenOverlay({
        identity: id(),
        bootstrap: boot,
        storeOptions: { trusted: new Set([toHex(serverKey.publicKey)]) },
      });
      nodes.push(node);
      await node.start({ timeoutMs: 10_000 });
    }
    const reader = nodes[13]!;
    dht = new DhtDiscovery({
      node: reader,
      fullNodes: [parseOverlayBootstrap(aAddr), parseOverlayBootstrap(bAddr)],
    });
    const hybrid = new HybridDiscovery({ dht, http, breakerFailures: 2, breakerBackoffMs: 60_000 });

    // Ten visors register over HTTP; the server mirrors them.
    const visors = Array.from({ length: 10 }, () => id());
    const entries = visors.map((v) => clientEntry(v, 1n));
    for (const e of entries) await http.postEntry(e);
    await waitFor('the mirror to drain', async () => {
      const h = (await http.health()) as { mirror: { mirrored: number; pending: number } };
      return h.mirror.mirrored >= 10 && h.mirror.pending === 0;
    });

    // Stop the discovery server: every entry still resolves, from the DHT.
    await stop(server.child);
    for (const [i, v] of visors.entries()) {
      const got = await hybrid.entry(v.publicKey);
      assert.ok(got, `visor ${i} not found with the server down`);
      assert.equal(encodeEntry(got), encodeEntry(entries[i]!));
    }
    assert.equal(hybrid.stats().served.dht, 10);
    assert.equal(hybrid.stats().served.http, 0);

    // Restart it: writes flow again and reach the DHT.
    server = await run(serverArgs);
    http = new DiscoveryHttpClient(server.info.url as string);
    const late = id();
    const lateEntry = clientEntry(late, 1n);
    await http.postEntry(lateEntry);
    await waitFor('the new entry in the DHT', async () => (await dht!.entry(late.publicKey)) !== undefined);

    // Restart full node B: it serves what was written while it was down (one dataset in Redis).
    await stop(b.child);
    const whileDown = id();
    const whileDownEntry = clientEntry(whileDown, 1n);
    await http.postEntry(whileDownEntry);
    await waitFor(
      'the entry written while B was down',
      async () => (await dht!.entry(whileDown.publicKey)) !== undefined,
    );
    b = await run(fullArgs(files[1]!, ['--bootstrap', aAddr]));
    const bNew = parseOverlayBootstrap(b.info.address as string);
    const target = itemTarget(whileDown.publicKey, new TextEncoder().encode(DMSG_SALT));
    await waitFor(
      'B to serve the entry',
      async () => (await reader.getValueFrom(bNew, target)) !== undefined,
    );

    // Stop Redis: the discovery server says so in /health and stays up; reads still resolve.
    await redis.stop();
    redis = undefined;
    await waitFor('health to report the store down', async () => {
      const h = (await http.health()) as { store: { ok: boolean } };
      return h.store.ok === false;
    });
    const refused = await fetch(
      `${server.info.url as string}/dmsg-discovery/entry/${toHex(visors[0]!.publicKey)}`,
    );
    assert.equal(refused.status, 503);
    const fromDht = await hybrid.entry(visors[1]!.publicKey);
    assert.ok(fromDht);
    // The full nodes report the outage and keep serving what they hold (their storage breaker).
    await waitFor('full node B to report its storage down', async () => {
      await reader.getValueFrom(bNew, target);
      return /storage backend failed/.test(b.stderr());
    });
    assert.ok(await reader.getValueFrom(bNew, target), 'B serves the entry while Redis is down');
    await stop(server.child);
    await stop(a.child);
    await stop(b.child);
  });
});
