#!/usr/bin/env node
// Makes sure the system tools the tests need are present before any test runs, so a missing tool
// is one clear message up front instead of suites failing (or hanging) one by one.
//
// Every scripts/deps/*.sh verifies its tool with `--check` (no install). When one is missing:
//   - as root, every script runs in order (each installs only what is missing, then verifies);
//   - otherwise we stop at once and print the one command that installs them.
// KADMIUM_TEST_DEPS_DIR replaces scripts/deps (the runner's own test uses fake scripts there).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** A check is a version probe or an import; anything slower than this is itself a failure. */
const CHECK_TIMEOUT_MS = 20_000;
/** apt-get on a slow mirror; bounded so a stuck install cannot stall CI forever. */
const INSTALL_TIMEOUT_MS = 20 * 60_000;
/** Exit status when tools are missing and we cannot install them. */
export const MISSING_TOOLS_EXIT = 3;

export function depsDir(env = process.env) {
  return env.KADMIUM_TEST_DEPS_DIR || join(HERE, 'deps');
}

/** The one command a non-root user runs, relative to the current directory when it is shorter. */
export function installCommand(env = process.env) {
  if (env.KADMIUM_TEST_DEPS_DIR) {
    return `sudo sh -c 'for s in ${env.KADMIUM_TEST_DEPS_DIR}/*.sh; do bash "$s" || exit 1; done'`;
  }
  const script = join(HERE, 'install-test-deps.sh');
  const rel = relative(process.cwd(), script);
  return `sudo bash ${rel.startsWith('..') ? script : rel}`;
}

function scripts(dir) {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.sh'))
    .sort()
    .map((n) => join(dir, n));
}

/** Scripts whose `--check` fails, with what they printed. */
export function missingTools(dir = depsDir()) {
  const missing = [];
  for (const script of scripts(dir)) {
    const r = spawnSync('/bin/bash', [script, '--check'], { encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
    if (r.status !== 0) {
      const why = (r.stderr || r.stdout || '').trim() || (r.error ? String(r.error) : `exit ${r.status}`);
      missing.push({ script, why });
    }
  }
  return missing;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Checks, installs as root, re-checks. Returns { ok: true } or { ok: false, status, message }.
 * Prints progress to stderr.
 */
export function ensureTestDeps(env = process.env) {
  const dir = depsDir(env);
  const missing = missingTools(dir);
  if (missing.length === 0) return { ok: true, installed: [] };
  const names = missing.map((m) => relative(dir, m.script)).join(', ');
  for (const m of missing) process.stderr.write(`test-deps: missing: ${m.why}\n`);
  if (!isRoot()) {
    return {
      ok: false,
      status: MISSING_TOOLS_EXIT,
      message:
        `test-deps: the tests need system tools that are not installed (${names}).\n` +
        `Install them once, as root, with:\n\n    ${installCommand(env)}\n\nthen run npm test again.`,
    };
  }
  process.stderr.write(`test-deps: running as root; installing what is missing (${names})\n`);
  for (const script of scripts(dir)) {
    const r = spawnSync('/bin/bash', [script], {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: INSTALL_TIMEOUT_MS,
    });
    if (r.status !== 0) {
      return {
        ok: false,
        status: 1,
        message: `test-deps: ${script} failed (${r.error ? String(r.error) : `exit ${r.status}`}); see its output above.`,
      };
    }
  }
  const still = missingTools(dir);
  if (still.length > 0) {
    return {
      ok: false,
      status: 1,
      message: `test-deps: still missing after installing: ${still.map((m) => m.why).join('; ')}`,
    };
  }
  return { ok: true, installed: missing.map((m) => m.script) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = ensureTestDeps();
  if (!result.ok) {
    console.error(result.message);
    process.exit(result.status);
  }
}
