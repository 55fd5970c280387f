import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encode } from '../../src/wire/bencode.js';
import { type KrpcMessage, decodeKrpc, encodeQuery } from '../../src/wire/krpc.js';
import { MAIN } from './helpers.js';

/** Start `kadmium start` on a data dir and wait for its listening line; returns the process and port. */
async function startNode(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'start',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--bootstrap',
      'none',
      '--data-dir',
      dataDir,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`node did not start in 15 s: ${stderr}`)), 15_000);
    child.stdout?.on('data', (d) => {
      buffer += d;
      const match = /"event":"listening","address":"127\.0\.0\.1:(\d+)"/.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`node exited with ${code}: ${stderr}`)));
  });
  return { child, port };
}

/** A raw KRPC client on loopback: send a query, await the reply with the same transaction id. */
async function rawClient() {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const waiting = new Map<number, (m: KrpcMessage) => void>();
  socket.on('message', (data) => {
    const m = decodeKrpc(data);
    if (!m.ok || m.message.t.length !== 2) return;
    const id = (m.message.t[0]! << 8) | m.message.t[1]!;
    waiting.get(id)?.(m.message);
    waiting.delete(id);
  });
  let next = 0;
  const me = new Uint8Array(20).fill(0x11);
  return {
    ask(
      port: number,
      method: string,
      a: Record<string, unknown>,
      timeoutMs = 2000,
    ): Promise<KrpcMessage | undefined> {
      const id = next++ & 0xffff;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, timeoutMs);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        socket.send(
          encodeQuery(new Uint8Array([id >> 8, id & 255]), method, { id: me, ...a } as never),
          port,
          '127.0.0.1',
        );
      });
    },
    close: () => socket.close(),
  };
}

describe('durability: SIGKILL during a burst of puts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-durability-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every put the node acknowledged is there after a restart on the same data dir', async (t) => {
    const { child, port } = await startNode(dir);
    const client = await rawClient();
    const acked: { target: Uint8Array; v: Uint8Array }[] = [];
    let killed = false;
    const putOne = async (i: number): Promise<void> => {
      const v = new TextEncoder().encode(`item ${i} ${'x'.repeat(i % 200)}`);
      const target = new Uint8Array(createHash('sha1').update(encode(v)).digest());
      const got = await client.ask(port, 'get', { target });
      if (!got || got.y !== 'r' || !(got.r.token instanceof Uint8Array)) return;
      const put = await client.ask(port, 'put', { token: got.r.token, v });
      if (put?.y === 'r') acked.push({ target, v });
    };
    // Bursts of 32 concurrent puts; the kill lands while a burst is in flight.
    const killer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 1500);
    for (let i = 0; !killed && i < 20_000; i += 32) {
      await Promise.all(Array.from({ length: 32 }, (_, j) => putOne(i + j)));
    }
    clearTimeout(killer);
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r),
    );
    assert.equal(child.signalCode, 'SIGKILL');
    assert.ok(acked.length >= 50, `only ${acked.length} puts were acknowledged before the kill`);

    const restarted = await startNode(dir);
    try {
      const missing: string[] = [];
      for (const { target, v } of acked) {
        const got = await client.ask(restarted.port, 'get', { target });
        const value = got?.y === 'r' ? got.r.v : undefined;
        if (!(value instanceof Uint8Array) || Buffer.compare(Buffer.from(value), Buffer.from(v)) !== 0) {
          missing.push(Buffer.from(target).toString('hex'));
        }
      }
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged puts were lost`);
      t.diagnostic(`${acked.length} acknowledged puts before SIGKILL, all found after restart`);
    } finally {
      restarted.child.kill('SIGTERM');
      await new Promise((r) => restarted.child.once('exit', r));
      client.close();
    }
  });
});
