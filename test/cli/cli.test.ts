import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN, run, freePort } from './helpers.js';

describe('kadmium CLI: arguments', () => {
  it('prints usage and exits 2 with no command; --help exits 0', async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /Commands:/);
    const help = await run(['get-peers', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: kadmium get-peers INFOHASH/);
  });

  const bad: [string[], RegExp][] = [
    [['frob'], /unknown command "frob"/],
    [['get-peers', 'xyz'], /INFOHASH must be 40 hex characters/],
    [['get-peers'], /missing INFOHASH/],
    [['find-node', 'zz'.repeat(20)], /ID must be 40 hex characters/],
    [['announce', 'ab'.repeat(20), '--port', 'http'], /--port must be a number/],
    [['announce', 'ab'.repeat(20), '--port', '0'], /--port must be 1-65535/],
    [['ping', '127.0.0.1:99999'], /port 99999 is outside 1-65535/],
    [['ping', 'localhost'], /is not HOST:PORT/],
    [['get-peers', 'ab'.repeat(20), '--bootstrap', 'nope'], /--bootstrap: "nope" is not HOST:PORT/],
    [['get-peers', 'ab'.repeat(20), '--wat'], /Unknown option '--wat'/],
    [['testnet', '--nodes', '0'], /--nodes must be a whole number/],
  ];
  for (const [args, message] of bad) {
    it(`rejects: kadmium ${args.join(' ')}`, async () => {
      const r = await run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('says plainly when the bootstrap node does not answer, and exits 1', async () => {
    const port = await freePort();
    const r = await run(['get-peers', 'ab'.repeat(20), '--bootstrap', `127.0.0.1:${port}`, '--timeout', '3']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot join the DHT: none of the 1 bootstrap node\(s\) answered/);
  });
});

describe('kadmium CLI: the README walk-through on a loopback testnet', () => {
  let testnet: ChildProcess;
  let bootstrap = '';

  before(async () => {
    const port = await freePort();
    testnet = spawn(process.execPath, [MAIN, 'testnet', '--nodes', '50', '--port', String(port), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bootstrap = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error('testnet did not become ready in 20 s')), 20_000);
      testnet.stdout?.on('data', (d) => {
        buffer += d;
        for (const line of buffer.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const event = JSON.parse(line) as { event: string; bootstrap?: string };
            if (event.event === 'ready' && event.bootstrap) {
              clearTimeout(timer);
              resolve(event.bootstrap);
            }
          } catch {
            // a partial line; wait for the rest
          }
        }
      });
      testnet.on('exit', (code) => reject(new Error(`testnet exited with ${code}`)));
    });
  });
  after(async () => {
    if (testnet && testnet.exitCode === null) {
      const exited = new Promise((r) => testnet.once('exit', r));
      testnet.kill('SIGINT');
      await exited;
    }
  });

  it('announce then get-peers finds the announced peer, in text and JSON', async () => {
    const infoHash = '08ada5a7a6183aae1e09d831df6748d566095a10';
    const announced = await run(['announce', infoHash, '--port', '51413', '--bootstrap', bootstrap]);
    assert.equal(announced.code, 0, announced.stderr);
    assert.match(announced.stdout, /announced 08ada5a7.* port 51413 to \d+ node\(s\)/);
    const text = await run(['get-peers', infoHash, '--bootstrap', bootstrap]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^127\.0\.0\.1:51413$/m);
    const json = await run(['get-peers', infoHash, '--bootstrap', bootstrap, '--json']);
    const doc = JSON.parse(json.stdout) as { infoHash: string; peers: string[] };
    assert.equal(doc.infoHash, infoHash);
    assert.deepEqual(doc.peers, ['127.0.0.1:51413']);
  });

  it('keygen, then put and get immutable and mutable items (with salt)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-cli-'));
    try {
      const keyFile = join(dir, 'alice.key');
      const keygen = await run(['keygen', '--out', keyFile, '--json']);
      assert.equal(keygen.code, 0, keygen.stderr);
      const { publicKey } = JSON.parse(keygen.stdout) as { publicKey: string };
      assert.match(publicKey, /^[0-9a-f]{64}$/);
      assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file is private');
      assert.match((await run(['keygen', '--out', keyFile])).stderr, /already exists; pass --force/);

      const put = await run(['put', 'hello world', '--bootstrap', bootstrap, '--json']);
      assert.equal(put.code, 0, put.stderr);
      const { target } = JSON.parse(put.stdout) as { target: string };
      const got = await run(['get', target, '--bootstrap', bootstrap]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, 'hello world\n');

      const m1 = await run([
        'put',
        '--mutable',
        '--key',
        keyFile,
        '--salt',
        'profile',
        'v1',
        '-b',
        bootstrap,
        '--json',
      ]);
      const m2 = await run([
        'put',
        '--mutable',
        '--key',
        keyFile,
        '--salt',
        'profile',
        'v2',
        '-b',
        bootstrap,
        '--json',
      ]);
      assert.deepEqual(
        [m1, m2].map((r) => (JSON.parse(r.stdout) as { seq: number }).seq),
        [0, 1],
      );
      const byKey = await run([
        'get',
        '--public-key',
        publicKey,
        '--salt',
        'profile',
        '-b',
        bootstrap,
        '--json',
      ]);
      const item = JSON.parse(byKey.stdout) as { value: string; seq: number };
      assert.deepEqual([item.value, item.seq], ['v2', 1]);

      const stale = await run([
        'put',
        '--mutable',
        '--key',
        keyFile,
        '--salt',
        'profile',
        '--seq',
        '0',
        'old',
        '-b',
        bootstrap,
      ]);
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /seq 0 is not above the seq stored/);
      const big = await run(['put', 'x'.repeat(1200), '-b', bootstrap]);
      assert.equal(big.code, 1);
      assert.match(big.stderr, /value too big/);
      const none = await run(['get', 'cd'.repeat(20), '-b', bootstrap]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no node holds a valid item/);
      assert.match((await run(['put', '--mutable', 'v'])).stderr, /--mutable needs --key FILE/);
      assert.match(
        (await run(['put', '--mutable', '--key', join(dir, 'nope.key'), 'v'])).stderr,
        /does not exist; create one/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ping and find-node work against the testnet', async () => {
    const ping = await run(['ping', bootstrap, '--json']);
    assert.equal(ping.code, 0, ping.stderr);
    const p = JSON.parse(ping.stdout) as { id: string; rttMs: number };
    assert.match(p.id, /^[0-9a-f]{40}$/);
    const find = await run(['find-node', 'ab'.repeat(20), '--bootstrap', bootstrap, '--json']);
    const f = JSON.parse(find.stdout) as { nodes: { id: string; distance: string }[] };
    assert.equal(f.nodes.length, 8);
    const distances = f.nodes.map((n) => n.distance);
    assert.deepEqual([...distances].sort(), distances, 'nearest first');
  });
});
