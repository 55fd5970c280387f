import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Testnet, createTestnet } from '../../src/node/testnet.js';
import { MAIN, freePort } from './helpers.js';

interface Running {
  child: ChildProcess;
  lines: { event: string; [k: string]: unknown }[];
  /** Resolves with the first JSON line whose event matches. */
  waitFor(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, [MAIN, 'start', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Running['lines'] = [];
  const waiters: { event: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  child.stdout?.on('data', (d) => {
    buffer += d;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Running['lines'][number];
      lines.push(parsed);
      for (const w of waiters.filter((w) => w.event === parsed.event)) w.resolve(parsed);
    }
  });
  return {
    child,
    lines,
    waitFor(event, timeoutMs = 15_000) {
      const seen = lines.find((l) => l.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no "${event}" line in ${timeoutMs} ms; got ${JSON.stringify(lines)} ${stderr}`),
            ),
          timeoutMs,
        );
        waiters.push({
          event,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill(signal);
      return exited;
    },
  };
}

describe('kadmium start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-start-'));
  let net: Testnet;
  before(async () => {
    net = await createTestnet(20);
  });
  after(async () => {
    await net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says plainly that the bootstrap node is unreachable, keeps retrying, and stops cleanly on SIGINT', async () => {
    const port = await freePort();
    const node = start([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--memory',
      '--bootstrap',
      `127.0.0.1:${port}`,
    ]);
    const failed = await node.waitFor('bootstrap');
    assert.equal(failed.ok, false);
    assert.match(String(failed.message), /none of the 1 bootstrap node\(s\) answered \(127\.0\.0\.1:\d+\)/);
    const retry = await node.waitFor('warning');
    assert.match(String(retry.message), /retrying bootstrap in \d+ s/);
    assert.equal(await node.stop('SIGINT'), 0);
    assert.ok(node.lines.some((l) => l.event === 'stopping'));
  });

  it('joins, prints status, saves its routing table, and rejoins from it after a restart', async () => {
    const first = start([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dir,
      '--status-interval',
      '1',
      '--bootstrap',
      net.bootstrap[0]!,
    ]);
    const listening = await first.waitFor('listening');
    const joined = await first.waitFor('bootstrap');
    assert.equal(joined.ok, true, String(joined.message));
    const status = await first.waitFor('status');
    assert.ok(Number(status.nodes) >= 5, `status shows ${status.nodes} nodes`);
    assert.equal(await first.stop('SIGTERM'), 0);

    // Restart with an unreachable router: it rejoins through the nodes it saved, keeping its id.
    const again = start([
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dir,
      '--bootstrap',
      `127.0.0.1:${await freePort()}`,
    ]);
    const relisten = await again.waitFor('listening');
    assert.equal(relisten.id, listening.id, 'same node id after restart');
    const rejoined = await again.waitFor('bootstrap');
    assert.equal(rejoined.ok, true, String(rejoined.message));
    assert.equal(await again.stop(), 0);
  });
});
