import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const CLI = join(process.cwd(), 'dist/src/cli/main.js');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('kadmium overlay (CLI against a loopback testnet)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-overlay-cli-'));
  let testnet: ReturnType<typeof spawn> | undefined;
  let bootstrap = '';
  before(async () => {
    testnet = spawn(process.execPath, [CLI, 'overlay', 'testnet', '--nodes', '8', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bootstrap = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`testnet did not start: ${out}`)), 30_000);
      testnet?.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { bootstrap: string }).bootstrap);
        }
      });
      testnet?.once('exit', (code) => reject(new Error(`testnet exited ${code}: ${out}`)));
    });
  });
  after(() => {
    testnet?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keygen writes a 0600 key file; put and get round-trip a signed item', () => {
    const key = join(dir, 'alice.key');
    const gen = run('overlay', 'keygen', '--out', key, '--difficulty', '0/0', '--json');
    assert.equal(gen.status, 0, gen.stderr);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const publicKey = (JSON.parse(readFileSync(key, 'utf8')) as { publicKey: string }).publicKey;
    const put = run(
      'overlay',
      'put',
      'hello',
      '--key',
      key,
      '--salt',
      'svc',
      '--difficulty',
      '0/0',
      '--bootstrap',
      bootstrap,
      '--json',
    );
    assert.equal(put.status, 0, put.stderr);
    assert.ok((JSON.parse(put.stdout) as { stored: number }).stored >= 4);
    const get = run(
      'overlay',
      'get',
      publicKey,
      '--salt',
      'svc',
      '--difficulty',
      '0/0',
      '--bootstrap',
      bootstrap,
    );
    assert.equal(get.status, 0, get.stderr);
    assert.match(get.stdout, /^hello\n/);
    const viaKeygen = run(
      'keygen',
      '--overlay',
      '--out',
      join(dir, 'bob.key'),
      '--difficulty',
      '0/0',
      '--json',
    );
    assert.equal(viaKeygen.status, 0, viaKeygen.stderr);
    assert.equal((JSON.parse(viaKeygen.stdout) as { publicKey: string }).publicKey.length, 66);
    const missing = run(
      'overlay',
      'get',
      publicKey,
      '--salt',
      'other',
      '--difficulty',
      '0/0',
      '--bootstrap',
      bootstrap,
      '--json',
    );
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout.trim(), 'null');
  });

  it('bad arguments exit 2 with a message that says what a right value looks like', () => {
    for (const [args, pattern] of [
      [['overlay', 'get', 'zz', '--bootstrap', bootstrap], /66 hex characters/],
      [['overlay', 'put', 'x', '--bootstrap', '127.0.0.1:1', '--key', 'k'], /PUBKEY@HOST:PORT/],
      [['overlay', 'keygen', '--difficulty', 'ten'], /STATIC\/DYNAMIC/],
      [['overlay'], /subcommand/],
    ] as const) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
