import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { OverlayNode } from '../../src/node/overlay-node.js';
import { listenOverlay, parseOverlayBootstrap } from '../../src/node/overlay-tcp.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { saveKeyFile } from '../../src/protocols/overlay/key-file.js';
import { startRedisServer } from '../storage/redis-server.js';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const children = new Set<ChildProcess>();

/** `kadmium overlay start` as a full node; resolves with its PUBKEY@HOST:PORT once it listens. */
async function startFullNode(args: string[]): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    [CLI, 'overlay', 'start', '--port', '0', '--full-node', '--difficulty', '0/0', '--json', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`full node did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      }
    });
    child.once('exit', (code) => reject(new Error(`full node exited ${code}: ${stderr}`)));
  });
  return { child, address };
}

async function client(address: string): Promise<OverlayNode> {
  const node = await listenOverlay({
    identity: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }),
    bootstrap: [parseOverlayBootstrap(address)],
    advertise: false,
  });
  const joined = await node.start({ timeoutMs: 10_000 });
  assert.ok(joined.ok, joined.message);
  return node;
}

describe('overlay full nodes: durability and shared storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-overlay-durable-'));
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no acknowledged item when a full node on SQLite is SIGKILLed mid-burst', async () => {
    const key = join(dir, 'full.key');
    saveKeyFile(key, OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }));
    const dataDir = join(dir, 'data');
    const first = await startFullNode(['--key', key, '--data-dir', dataDir]);
    const publishers = await Promise.all(Array.from({ length: 5 }, () => client(first.address)));
    const acked: { publisher: OverlayNode; salt: string; value: string }[] = [];
    let killed = false;
    await Promise.all(
      publishers.map(async (publisher, p) => {
        for (let i = 0; i < 40 && !killed; i++) {
          const salt = `s${i}`;
          const value = `value ${p}/${i}`;
          try {
            const put = await publisher.put(text(value), { salt: text(salt), timeoutMs: 5_000 });
            if (put.stored > 0) acked.push({ publisher, salt, value });
          } catch {
            // Not acknowledged: the kill came first.
          }
          if (acked.length >= 60 && !killed) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        }
      }),
    );
    assert.ok(killed && acked.length >= 60, `only ${acked.length} acknowledged before the kill`);
    await Promise.all(publishers.map((n) => n.close()));
    const second = await startFullNode(['--key', key, '--data-dir', dataDir]);
    assert.equal(second.address.split('@')[0], first.address.split('@')[0]);
    const reader = await client(second.address);
    let lost = 0;
    for (const { publisher, salt, value } of acked) {
      const got = await reader.get(publisher.publicKey, { salt: text(salt), timeoutMs: 5_000 });
      if (!got || new TextDecoder().decode(got.item.v) !== value) lost++;
    }
    await reader.close();
    second.child.kill('SIGTERM');
    assert.equal(lost, 0, `${lost} of ${acked.length} acknowledged items lost`);
  });

  it('two full nodes on one Redis serve one dataset', async () => {
    const redis = await startRedisServer();
    try {
      const keys = ['a', 'b'].map((n) => {
        const path = join(dir, `${n}.key`);
        saveKeyFile(path, OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }));
        return path;
      });
      const a = await startFullNode(['--key', keys[0] as string, '--redis', redis.url]);
      const b = await startFullNode(['--key', keys[1] as string, '--redis', redis.url]);
      // Two separate networks: what b serves can only have come through Redis.
      const writer = await client(a.address);
      const put = await writer.put(text('shared'), { salt: text('dmsg'), timeoutMs: 5_000 });
      assert.equal(put.stored, 1);
      const reader = await client(b.address);
      const got = await reader.get(writer.publicKey, { salt: text('dmsg'), timeoutMs: 5_000 });
      assert.equal(got && new TextDecoder().decode(got.item.v), 'shared');
      await Promise.all([writer.close(), reader.close()]);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
    } finally {
      await redis.stop();
    }
  });
});
