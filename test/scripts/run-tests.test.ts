// scripts/run-tests.mjs on fake test files and fake dependency scripts: a file that hangs is
// killed with its process group and named, a file that leaves a child running is reported, temp
// files do not outlive the run, and a missing system tool is installed as root or stops the run
// within seconds, with the command to run, otherwise.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('../../../scripts/run-tests.mjs', import.meta.url));
/** Every run below must end well inside this, whatever the runner does. */
const RUN_BOUND_MS = 30_000;

interface Run {
  code: number | null;
  out: string;
  ms: number;
}

function run(args: string[], env: NodeJS.ProcessEnv, wrap: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const argv = [...wrap, process.execPath, RUNNER, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const bound = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`run-tests did not end within ${RUN_BOUND_MS} ms:\n${out}`));
    }, RUN_BOUND_MS);
    child.on('exit', (code) => {
      clearTimeout(bound);
      resolve({ code, out, ms: performance.now() - started });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const isRoot = process.getuid?.() === 0;

describe('scripts/run-tests.mjs', { timeout: 120_000 }, () => {
  let dir: string;
  let tests: string;
  let noDeps: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kadmium-runner-'));
    chmodSync(dir, 0o755); // the non-root case below reads it as nobody
    tests = join(dir, 'tests');
    noDeps = join(dir, 'no-deps');
    mkdirSync(tests);
    mkdirSync(noDeps);
    const pidFile = (name: string): string => JSON.stringify(join(dir, name));
    writeFileSync(
      join(tests, 'hangs.test.js'),
      `import { it } from 'node:test';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
it('never ends', async () => {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  writeFileSync(${pidFile('hang.pid')}, String(child.pid));
  await new Promise(() => setInterval(() => {}, 1000));
});
`,
    );
    writeFileSync(
      join(tests, 'leaks.test.js'),
      `import { it } from 'node:test';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
it('passes but leaves a child running', () => {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  child.unref();
  writeFileSync(${pidFile('leak.pid')}, String(child.pid));
});
`,
    );
    writeFileSync(
      join(tests, 'litters.test.js'),
      `import { it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
it('leaves a temp dir behind', () => {
  writeFileSync(join(mkdtempSync(join(tmpdir(), 'kadmium-config-')), 'x'), 'x');
});
`,
    );
  });
  after(() => {
    for (const f of ['hang.pid', 'leak.pid']) {
      const p = join(dir, f);
      if (existsSync(p)) {
        try {
          process.kill(Number(readFileSync(p, 'utf8')), 'SIGKILL');
        } catch {
          // already gone, as it should be
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills a file that hangs, with the processes it started, and names it', async () => {
    const r = await run(['--root', tests, 'hangs'], {
      KADMIUM_TEST_FILE_TIMEOUT_S: '2',
      KADMIUM_TEST_DEPS_DIR: noDeps,
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /HUNG: .*hangs\.test\.js was still running after 2 s/);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    const pid = Number(readFileSync(join(dir, 'hang.pid'), 'utf8'));
    assert.equal(alive(pid), false, `the hung file's child ${pid} is still running`);
  });

  it('fails a file that passes but leaves a child process running, and kills the child', async () => {
    const r = await run(['--root', tests, 'leaks'], { KADMIUM_TEST_DEPS_DIR: noDeps });
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /LEAK: .*leaks\.test\.js left processes running/);
    const pid = Number(readFileSync(join(dir, 'leak.pid'), 'utf8'));
    assert.equal(alive(pid), false, `the leaked child ${pid} is still running`);
  });

  it('gives the run its own TMPDIR and removes it, with what the tests left there', async () => {
    const temp = join(dir, 'tmp');
    mkdirSync(temp);
    const r = await run(['--root', tests, 'litters'], { TMPDIR: temp, KADMIUM_TEST_DEPS_DIR: noDeps });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /removed 1 temp entr/);
    assert.deepEqual(readdirSync(temp), []);
  });

  it('installs a missing tool as root, or stops at once with the command when not root', async () => {
    const deps = join(dir, 'deps');
    mkdirSync(deps);
    chmodSync(deps, 0o755);
    const marker = join(dir, 'tool-installed');
    writeFileSync(
      join(deps, 'fake-tool.sh'),
      `if [ "\${1:-}" = --check ]; then [ -f ${marker} ] || { echo "fake-tool is missing" >&2; exit 1; }; exit 0; fi
touch ${marker}
`,
    );
    chmodSync(join(deps, 'fake-tool.sh'), 0o755);
    const env = { KADMIUM_TEST_DEPS_DIR: deps };
    // Not root: no install, exit 3 in seconds, the command printed. As root, run it as nobody.
    const nonRoot = await run(
      ['--root', tests, 'litters'],
      env,
      isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [],
    );
    assert.equal(nonRoot.code, 3, nonRoot.out);
    assert.match(nonRoot.out, /fake-tool is missing/);
    assert.match(nonRoot.out, /sudo sh -c 'for s in .*\/deps\/\*\.sh/);
    assert.ok(nonRoot.ms < 10_000, `took ${nonRoot.ms} ms`);
    assert.equal(existsSync(marker), false);
    if (isRoot) {
      const asRoot = await run(['--root', tests, 'litters'], env);
      assert.equal(asRoot.code, 0, asRoot.out);
      assert.match(asRoot.out, /installing what is missing \(fake-tool\.sh\)/);
      assert.equal(existsSync(marker), true, 'the install script ran');
    }
  });
});
