// The Containerfile: its entrypoint, environment and health check run as the image would run
// them (as its non-root user, with its settings), and `podman build` makes the image from a local
// base with no registry. Running the image itself is not possible on this machine (crun may not
// set rlimits inside the sandbox), so the entrypoint runs outside podman with the image's user and
// environment, and the built image is checked through `podman image inspect` and its exported files.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CONTAINERFILE = readFileSync(join(REPO, 'Containerfile'), 'utf8');
const isRoot = process.getuid?.() === 0;
/** Bounds for the daemon to come up and for podman's steps. */
const START_MS = 20_000;
const PODMAN_MS = 240_000;

/** The runtime stage's instructions (after the last FROM), continuation lines joined. */
function runtimeStage(): Map<string, string[]> {
  const lines = CONTAINERFILE.replace(/\\\n\s*/g, ' ').split('\n');
  const last = lines.map((l) => /^FROM\s/.test(l)).lastIndexOf(true);
  const out = new Map<string, string[]>();
  for (const line of lines.slice(last + 1)) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

function imageEnv(stage: Map<string, string[]>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const text of stage.get('ENV') ?? [])
    for (const m of text.matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return env;
}

/** ENTRYPOINT's paths under /app point into this checkout (where dist/ is the same build). */
const local = (arg: string) => arg.replace(/^\/app\//, REPO);

describe('Containerfile', { timeout: PODMAN_MS + 60_000 }, () => {
  const stage = runtimeStage();
  const env = imageEnv(stage);
  const entrypoint = JSON.parse(stage.get('ENTRYPOINT')?.[0] ?? '[]') as string[];
  const user = stage.get('USER')?.[0] ?? '';
  const [uid, gid] = user.split(':').map(Number);
  let dir: string;
  let daemon: ChildProcess | undefined;
  let runroot: string | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kadmium-container-'));
    chmodSync(dir, 0o755);
  });
  after(() => {
    daemon?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (runroot) rmSync(runroot, { recursive: true, force: true });
  });

  it('runs the daemon as a non-root user, keeps state in a volume, and checks /health', () => {
    assert.deepEqual(entrypoint.slice(-2), ['/app/dist/src/cli/main.js', 'daemon']);
    assert.ok(uid !== undefined && uid > 0 && gid !== undefined && gid > 0, `USER ${user} is not root`);
    assert.equal(env.KADMIUM_DATA_DIR, '/data');
    assert.deepEqual(stage.get('VOLUME'), ['["/data"]']);
    assert.match(stage.get('HEALTHCHECK')?.[0] ?? '', /\/health/);
    assert.match(
      CONTAINERFILE,
      /^FROM \$\{BUILD_BASE\} AS deps-npm$/m,
      'a build stage, then the runtime stage',
    );
  });

  function runEntrypoint(extra: Record<string, string>): ChildProcess {
    const [cmd, ...args] = entrypoint.map(local);
    const wrap = isRoot ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'] : [];
    const argv = [...wrap, cmd === 'node' ? process.execPath : cmd!, ...args];
    return spawn(argv[0]!, argv.slice(1), {
      env: { PATH: process.env.PATH, ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  it("refuses to serve the API on the image's 0.0.0.0 without a token, naming the variable", async () => {
    const data = join(dir, 'data-refused');
    mkdirSync(data);
    if (isRoot) chownSync(data, uid!, gid!);
    const child = runEntrypoint({
      KADMIUM_DATA_DIR: data,
      KADMIUM_NODE_BOOTSTRAP: 'none',
      KADMIUM_NODE_PORT: '0',
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), START_MS);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    assert.notEqual(code, 0);
    assert.match(out, /KADMIUM_API_TOKEN/);
  });

  it('the entrypoint starts as the image user with the image environment, and the health check passes', async () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    if (isRoot) chownSync(data, uid!, gid!);
    // Loopback and port 0 for the test; everything else as the image sets it.
    daemon = runEntrypoint({
      KADMIUM_DATA_DIR: data,
      KADMIUM_API_HOST: '127.0.0.1',
      KADMIUM_API_PORT: '0',
      KADMIUM_NODE_HOST: '127.0.0.1',
      KADMIUM_NODE_PORT: '0',
      KADMIUM_NODE_BOOTSTRAP: 'none',
      KADMIUM_API_TOKEN: 'container-test-token-0123456789',
    });
    let out = '';
    daemon.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    daemon.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    let port: string | undefined;
    for (let waited = 0; waited < START_MS && !port; waited += 100) {
      port = /dashboard: http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
      if (!port) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port, `the daemon did not report its API address:\n${out}`);
    assert.match(out, /^\{/m, 'logs are JSON lines (KADMIUM_LOG_FORMAT=json)');
    const check = JSON.parse(stage.get('HEALTHCHECK')![0]!.replace(/^.*CMD\s+/, '')) as string[];
    const r = spawnSync(process.execPath, check.slice(1), {
      env: { ...process.env, KADMIUM_API_PORT: port },
      timeout: 10_000,
    });
    assert.equal(r.status, 0, `HEALTHCHECK failed: ${r.stderr}`);
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon!.on('exit', resolve));
    daemon = undefined;
  });

  it('podman builds the image from a local base, with no registry', () => {
    // podman refuses a runroot over 50 characters: the run's TMPDIR is too deep, so /tmp itself.
    runroot = mkdtempSync('/tmp/kadmium-podman-');
    const podman = ['--root', join(dir, 'storage'), '--runroot', runroot, '--storage-driver', 'vfs'];
    const run = (...args: string[]) =>
      execFileSync('podman', [...podman, ...args], { encoding: 'utf8', timeout: PODMAN_MS, stdio: 'pipe' });
    // A base made from this machine: node and the libraries it links, nothing else.
    const base = join(dir, 'base');
    const libs =
      execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).match(/\/\S+\.so[.\d]*/g) ?? [];
    for (const file of [process.execPath, ...libs]) {
      mkdirSync(join(base, dirname(file)), { recursive: true });
      cpSync(file, join(base, file), { dereference: true });
    }
    execFileSync('tar', ['-C', base, '-cf', join(dir, 'base.tar'), '.']);
    run('import', join(dir, 'base.tar'), 'localhost/kadmium-test-base');
    // The offline context: compiled code and production dependencies, as the npm stage makes them.
    const ctx = join(dir, 'ctx');
    mkdirSync(join(ctx, 'out/app/dist'), { recursive: true });
    mkdirSync(join(ctx, 'out/data'));
    writeFileSync(join(ctx, 'Containerfile'), CONTAINERFILE);
    cpSync(join(REPO, 'package.json'), join(ctx, 'out/app/package.json'));
    cpSync(join(REPO, 'dist/src'), join(ctx, 'out/app/dist/src'), { recursive: true });
    // As the npm stage prunes: no dev dependencies, no optional adapters.
    const prod = execFileSync('npm', ['ls', '--omit=dev', '--omit=optional', '--parseable', '--all'], {
      cwd: REPO,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((p) => p.includes('node_modules'));
    for (const p of prod) {
      const rel = p.slice(p.indexOf('node_modules'));
      cpSync(join(REPO, rel), join(ctx, 'out/app', rel), { recursive: true, dereference: true });
    }
    const base_ = 'localhost/kadmium-test-base';
    run(
      'build',
      '--format',
      'docker',
      '--isolation',
      'chroot',
      '--build-arg',
      `BUILD_BASE=${base_}`,
      '--build-arg',
      `RUNTIME_BASE=${base_}`,
      '--build-arg',
      'DEPS=context',
      '-t',
      'localhost/kadmium-test',
      ctx,
    );
    const [inspected] = JSON.parse(run('image', 'inspect', 'localhost/kadmium-test')) as {
      Config: {
        User: string;
        Entrypoint: string[];
        Volumes: Record<string, unknown>;
        ExposedPorts: Record<string, unknown>;
        Env: string[];
        Healthcheck?: { Test: string[] };
      };
      HealthCheck?: { Test: string[] };
      Healthcheck?: { Test: string[] };
    }[];
    const config = inspected!.Config;
    assert.equal(config.User, user);
    assert.deepEqual(config.Entrypoint, entrypoint);
    assert.ok('/data' in config.Volumes);
    assert.ok('6881/udp' in config.ExposedPorts && '7881/tcp' in config.ExposedPorts);
    assert.ok(config.Env.includes('KADMIUM_DATA_DIR=/data'));
    const health = inspected!.HealthCheck ?? inspected!.Healthcheck ?? config.Healthcheck;
    assert.match(
      JSON.stringify(health?.Test ?? []),
      /\/health/,
      `no health check in ${JSON.stringify(inspected)}`,
    );
    // The files: create a container (not started) and list its file system.
    const id = run('create', 'localhost/kadmium-test').trim();
    const listing = execFileSync('sh', ['-c', `podman ${podman.join(' ')} export ${id} | tar -tvf -`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: PODMAN_MS,
    });
    run('rm', id);
    assert.match(listing, / app\/dist\/src\/cli\/main\.js$/m);
    assert.match(listing, / app\/node_modules\/better-sqlite3\/package\.json$/m);
    assert.doesNotMatch(listing, / app\/node_modules\/typescript\//m, 'no dev dependencies');
    assert.doesNotMatch(listing, / app\/node_modules\/(hyperdht|libp2p)\//m, 'no optional adapters');
    assert.match(listing, /^d\S+ 10001\/10001 .* data\/?$/m, 'the data volume belongs to the image user');
  });
});
