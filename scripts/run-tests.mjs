#!/usr/bin/env node
// Runs every compiled test file under dist/test, each in its own process group, so that no file
// can hang the run or leave processes and temp files behind:
//   1. the system tools are checked first (scripts/test-deps.mjs: installs as root, otherwise
//      stops within seconds with the command to run);
//   2. every file runs as `node --test FILE` in a new process group, at most CONCURRENCY at once;
//      a file still running after FILE_TIMEOUT is killed with its whole group and reported;
//   3. when a file ends, anything it left running in its group (a libtorrent child, a
//      redis-server) is killed and reported as a failure: a leak is a bug in that test;
//   4. the run gets its own TMPDIR, removed at the end, so tests cannot litter the temp folder.
// Usage: node scripts/run-tests.mjs [--root DIR] [FILTER...]   (FILTER: a substring of the path)
// Environment: KADMIUM_TEST_FILE_TIMEOUT_S (default 420), KADMIUM_TEST_CONCURRENCY (default 2),
// KADMIUM_TEST_DEPS_DIR (see test-deps.mjs).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestDeps } from './test-deps.mjs';

/** The slowest file today runs a 180 s suite; this leaves room for a loaded 2-core machine. */
const DEFAULT_FILE_TIMEOUT_S = 420;
const DEFAULT_CONCURRENCY = 2;
/** After SIGTERM, how long a killed group gets before SIGKILL. */
const KILL_GRACE_MS = 2000;

const args = process.argv.slice(2);
let root = 'dist/test';
const only = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--root') root = args[++i] ?? root;
  else only.push(args[i]);
}
const fileTimeoutMs = Number(process.env.KADMIUM_TEST_FILE_TIMEOUT_S || DEFAULT_FILE_TIMEOUT_S) * 1000;
const concurrency = Math.max(1, Number(process.env.KADMIUM_TEST_CONCURRENCY || DEFAULT_CONCURRENCY));

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

let files = [];
try {
  files = collect(root);
} catch {
  // reported below
}
if (only.length > 0) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error(`no test files found under ${root}; run "npm run build" first`);
  process.exit(1);
}

const deps = ensureTestDeps();
if (!deps.ok) {
  console.error(deps.message);
  process.exit(deps.status);
}

const runTmp = mkdtempSync(join(tmpdir(), 'kadmium-test-run-'));
// Like /tmp itself (sticky, world-writable): a test may drop privileges and still use TMPDIR.
chmodSync(runTmp, 0o1777);
const env = { ...process.env, TMPDIR: runTmp, TMP: runTmp, TEMP: runTmp };
// Set when this runner itself runs under `node --test` (its own test); the files would be skipped.
delete env.NODE_TEST_CONTEXT;
const running = new Map(); // pgid -> file

/** True when any process is still in the group. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already gone
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function endGroup(pgid) {
  if (!groupAlive(pgid)) return false;
  killGroup(pgid, 'SIGTERM');
  for (let waited = 0; waited < KILL_GRACE_MS && groupAlive(pgid); waited += 100) await sleep(100);
  killGroup(pgid, 'SIGKILL');
  return true;
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], {
      detached: true, // its own process group: we can kill it and everything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    const pgid = child.pid;
    running.set(pgid, file);
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      void endGroup(pgid);
    }, fileTimeoutMs);
    const closed = new Promise((r) => child.on('close', r));
    // 'exit', not 'close': a leaked grandchild holding our stdout pipe would delay 'close' forever.
    child.on('exit', async (code, signal) => {
      clearTimeout(watchdog);
      // Anything still in the group outlived the file: a child process the tests did not stop.
      const leaked = await endGroup(pgid);
      await Promise.race([closed, sleep(KILL_GRACE_MS)]);
      running.delete(pgid);
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      resolve({ file, code, signal, timedOut, leaked, ms, output: Buffer.concat(chunks).toString() });
    });
  });
}

function report(r) {
  process.stdout.write(`\n━━ ${r.file} (${(r.ms / 1000).toFixed(1)} s)\n${r.output}`);
  if (r.timedOut) {
    process.stdout.write(
      `✖ HUNG: ${r.file} was still running after ${fileTimeoutMs / 1000} s; ` +
        `killed its process group (see its output above for the test that never ended)\n`,
    );
  } else if (r.leaked) {
    process.stdout.write(`✖ LEAK: ${r.file} left processes running after it ended; killed them\n`);
  }
}

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`\nrun-tests: ${signal}: stopping ${running.size} running file(s)`);
  await Promise.all([...running.keys()].map((pgid) => endGroup(pgid)));
  rmSync(runTmp, { recursive: true, force: true });
  process.exit(130);
}
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => void shutdown(s));

const startedAll = Date.now();
const results = [];
const queue = [...files];
async function worker() {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const r = await runFile(file);
    results.push(r);
    report(r);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

const leftovers = readdirSync(runTmp).length;
rmSync(runTmp, { recursive: true, force: true });

const failed = results.filter((r) => r.code !== 0 || r.timedOut || r.leaked);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
console.log(`\n━━ ${results.length} file(s) in ${((Date.now() - startedAll) / 1000).toFixed(1)} s`);
console.log(`slowest: ${slowest.map((r) => `${r.file} ${(r.ms / 1000).toFixed(1)} s`).join(', ')}`);
if (leftovers > 0) console.log(`removed ${leftovers} temp entr(ies) the tests left in ${runTmp}`);
for (const r of failed) {
  const why = r.timedOut
    ? 'HUNG, killed'
    : r.leaked
      ? 'left processes running'
      : `exit ${r.code ?? r.signal}`;
  console.log(`✖ ${r.file}: ${why}`);
}
console.log(failed.length === 0 ? '✔ all test files passed' : `✖ ${failed.length} file(s) failed`);
// One closing line over every file, from each file's own summary (node's test runner prints
// "ℹ pass N" and "ℹ fail N"); a file that died before its summary counts as one failure.
const count = (r, what) => {
  const m = new RegExp(`^ℹ ${what} (\\d+)$`, 'm').exec(r.output);
  return m ? Number(m[1]) : undefined;
};
let passed = 0;
let failedTests = 0;
for (const r of results) {
  passed += count(r, 'pass') ?? 0;
  failedTests += count(r, 'fail') ?? (r.code === 0 ? 0 : 1);
  if (count(r, 'fail') === 0 && (r.code !== 0 || r.timedOut || r.leaked)) failedTests++;
}
console.log(`tests: ${passed} passed, ${failedTests} failed`);
process.exit(failed.length === 0 ? 0 : 1);
