/**
 * The chaos harness behind `kadmium chaos`: real nodes in two network namespaces (chaos/netns.ts),
 * faults between them, and probes throughout: each probe announces a fresh infohash from one
 * side and looks it up from the other (cross) and from the same side (local). For each fault it
 * reports success before, during and after, and the time from the end of the fault to the
 * first successful cross probe. Everything is bounded in time and torn down in `finally`, also
 * on SIGINT/SIGTERM.
 *
 * When redis-server is installed, side A's nodes keep their peers and items in a Redis inside
 * namespace A (behind the storage breakers), and one fault restarts that Redis empty: the report
 * then also says how many of the peers stored before the restart were lost (the goal is zero).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPair, delay, destroyPair, heal, loss, type Pair, partition, preflight } from './netns.js';

export interface ChaosOptions {
  /** Nodes per namespace. */
  nodes: number;
  /** How long each fault lasts, ms (the issue's partition: 30 s). */
  faultMs: number;
  /** Loss rate during the loss fault. */
  lossRate: number;
  /** Gap between probes, ms. */
  probeEveryMs: number;
  /** Most time spent waiting for recovery after a fault, ms. */
  recoverLimitMs: number;
  onLine?: (line: string) => void;
}

export const CHAOS_DEFAULTS: ChaosOptions = {
  nodes: 8,
  faultMs: 30_000,
  lossRate: 0.1,
  probeEveryMs: 1_000,
  recoverLimitMs: 60_000,
};

export interface Rate {
  ok: number;
  count: number;
}

export interface FaultReport {
  fault: string;
  /** Why it was skipped, when it could not be injected. */
  skipped?: string;
  during: { cross: Rate; local: Rate };
  after: { cross: Rate; local: Rate };
  /** From the end of the fault to the first cross probe that succeeded, ms; undefined: never within the limit. */
  recoverMs: number | undefined;
  /** Redis restart: peers stored before it, and how many of them were gone after the resync. */
  stored?: { before: number; lost: number | undefined };
}

/** The Redis outage lasts at least this long, ms: every node's maintenance (5 s) must meet it. */
export const REDIS_OUTAGE_MIN_MS = 12_000;
/** Redis's port inside namespace A (its own network stack: no clash with the host). */
const REDIS_PORT = 6379;

interface Worker {
  proc: ChildProcess;
  bootstrap: string;
  ask(op: 'announce' | 'get', infohash: string, port: number): Promise<boolean>;
  /** A storage request (worker.ts): ok and its count. */
  storage(op: 'snapshot' | 'lost'): Promise<{ ok: boolean; count?: number }>;
}

/** A throwaway redis-server in a namespace: loopback, no persistence; undefined when not installed. */
function startRedis(ns: string): { proc: ChildProcess; dir: string } | undefined {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kchaos-redis-'));
  const proc = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'redis-server',
      '--port',
      String(REDIS_PORT),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  return { proc, dir };
}

/** Wait until Redis in `ns` answers PING (bounded). */
async function redisReady(ns: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'redis-cli', '-p', String(REDIS_PORT), 'ping'], {
      encoding: 'utf8',
    });
    if (r.stdout?.trim() === 'PONG') return true;
    await sleep(100);
  }
  return false;
}

function stopRedis(r: { proc: ChildProcess; dir: string } | undefined): void {
  if (!r) return;
  if (r.proc.exitCode === null) r.proc.kill('SIGKILL');
  rmSync(r.dir, { recursive: true, force: true });
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const READY_MS = 60_000;

function startWorker(
  ns: string,
  host: string,
  nodes: number,
  bootstrap?: string,
  redisUrl?: string,
): Promise<Worker> {
  const args = ['netns', 'exec', ns, process.execPath, WORKER, host, String(nodes), bootstrap ?? '-'];
  if (redisUrl) args.push(redisUrl);
  const proc = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, (reply: { ok: boolean; count?: number }) => void>();
  let next = 1;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker in ${ns} not ready after ${READY_MS} ms`)),
      READY_MS,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      for (const done of waiting.values()) done({ ok: false });
      waiting.clear();
      reject(new Error(`worker in ${ns} exited (${code})`));
    });
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let msg: { ready?: boolean; bootstrap?: string; id?: number; ok?: boolean; count?: number };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.ready && msg.bootstrap) {
        clearTimeout(timer);
        const request = (body: object): Promise<{ ok: boolean; count?: number }> =>
          new Promise((done) => {
            if (proc.exitCode !== null || !proc.stdin?.writable) return done({ ok: false });
            const id = next++;
            waiting.set(id, done);
            proc.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
          });
        resolve({
          proc,
          bootstrap: msg.bootstrap,
          ask: async (op, infohash, port) => (await request({ op, infohash, port })).ok,
          storage: (op) => request({ op }),
        });
      } else if (msg.id !== undefined) {
        waiting.get(msg.id)?.({
          ok: msg.ok === true,
          ...(msg.count !== undefined ? { count: msg.count } : {}),
        });
        waiting.delete(msg.id);
      }
    });
  });
}

function stopWorker(w: Worker | undefined): void {
  if (w && w.proc.exitCode === null) {
    w.proc.stdin?.end();
    w.proc.kill('SIGKILL');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate = (r: Rate) =>
  r.count === 0 ? '-' : `${r.ok}/${r.count} (${((100 * r.ok) / r.count).toFixed(0)}%)`;

export function formatFault(f: FaultReport): string {
  if (f.skipped) return `${f.fault}: skipped (${f.skipped})`;
  const rec = f.recoverMs === undefined ? 'not within the limit' : `${(f.recoverMs / 1000).toFixed(1)} s`;
  const kept = f.stored
    ? `; ${f.stored.lost === undefined ? 'storage did not resync' : `${f.stored.lost} of ${f.stored.before} stored peers lost`}`
    : '';
  return (
    `${f.fault}: during cross ${rate(f.during.cross)}, local ${rate(f.during.local)}; ` +
    `after cross ${rate(f.after.cross)}, local ${rate(f.after.local)}; recovered in ${rec}${kept}`
  );
}

export async function runChaos(options: ChaosOptions): Promise<FaultReport[]> {
  const problem = preflight();
  if (problem) throw new Error(problem);
  const say = options.onLine ?? (() => {});
  const pair: Pair = createPair(randomBytes(3).toString('hex'));
  const workers: { a?: Worker; b?: Worker } = {};
  let redis: { proc: ChildProcess; dir: string } | undefined;
  const cleanup = (): void => {
    stopWorker(workers.a);
    stopWorker(workers.b);
    stopRedis(redis);
    destroyPair(pair);
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    redis = startRedis(pair.a);
    const redisUrl = redis && (await redisReady(pair.a)) ? `redis://127.0.0.1:${REDIS_PORT}` : undefined;
    workers.a = await startWorker(pair.a, pair.hostA, options.nodes, undefined, redisUrl);
    workers.b = await startWorker(pair.b, pair.hostB, options.nodes, workers.a.bootstrap);
    say(`namespaces ${pair.a} + ${pair.b}, ${options.nodes} nodes each; bootstrap ${workers.a.bootstrap}`);

    /** One probe: announce on a random side, get from the other side and from the same side. */
    let port = 10_000;
    const probe = async (): Promise<{ cross: boolean; local: boolean }> => {
      const [from, to] = Math.random() < 0.5 ? [workers.a, workers.b] : [workers.b, workers.a];
      const infohash = randomBytes(20).toString('hex');
      const p = port++;
      if (!from || !to || !(await from.ask('announce', infohash, p))) return { cross: false, local: false };
      const [cross, local] = await Promise.all([to.ask('get', infohash, p), from.ask('get', infohash, p)]);
      return { cross, local };
    };
    const window = async (ms: number): Promise<{ cross: Rate; local: Rate }> => {
      const out = { cross: { ok: 0, count: 0 }, local: { ok: 0, count: 0 } };
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const r = await probe();
        out.cross.count++;
        out.local.count++;
        if (r.cross) out.cross.ok++;
        if (r.local) out.local.ok++;
        await sleep(options.probeEveryMs);
      }
      return out;
    };
    const recover = async (): Promise<number | undefined> => {
      const t0 = Date.now();
      while (Date.now() - t0 < options.recoverLimitMs) {
        if ((await probe()).cross) return Date.now() - t0;
        await sleep(200);
      }
      return undefined;
    };

    const baseline = await window(Math.min(options.faultMs, 10_000));
    say(`baseline: cross ${rate(baseline.cross)}, local ${rate(baseline.local)}`);
    const reports: FaultReport[] = [];
    let storedBefore = 0;
    const faults: {
      name: string;
      inject: () => Promise<string | undefined> | string | undefined;
      lift: () => Promise<void> | void;
      holdMs?: number;
      redis?: boolean;
    }[] = [
      {
        name: `${options.lossRate * 100}% loss`,
        inject: () => (loss(pair, options.lossRate), undefined),
        lift: () => heal(pair),
      },
      { name: '100 ms delay each way', inject: () => delay(pair, 100), lift: () => heal(pair) },
      { name: 'partition', inject: () => (partition(pair), undefined), lift: () => heal(pair) },
      {
        name: 'kill side B',
        inject: () => {
          stopWorker(workers.b);
          return undefined;
        },
        lift: async () => {
          workers.b = await startWorker(pair.b, pair.hostB, options.nodes, workers.a?.bootstrap);
        },
      },
      {
        name: 'Redis restart (side A storage)',
        redis: true,
        holdMs: Math.max(options.faultMs, REDIS_OUTAGE_MIN_MS),
        inject: async () => {
          if (!redisUrl) return 'redis-server not installed (bash scripts/deps/redis.sh)';
          const snap = await workers.a?.storage('snapshot');
          if (!snap?.ok) return 'side A could not list what it stores';
          storedBefore = snap.count ?? 0;
          stopRedis(redis);
          return undefined;
        },
        lift: async () => {
          // The same port, empty: a restart without persistence.
          redis = startRedis(pair.a);
          await redisReady(pair.a);
        },
      },
    ];
    for (const f of faults) {
      const skipped = await f.inject();
      if (skipped) {
        reports.push({ fault: f.name, skipped, during: baseline, after: baseline, recoverMs: 0 });
        continue;
      }
      const during = await window(f.holdMs ?? options.faultMs);
      await f.lift();
      const recoverMs = await recover();
      const after = await window(Math.min(options.faultMs, 10_000));
      const report: FaultReport = { fault: f.name, during, after, recoverMs };
      if (f.redis) {
        const lost = await workers.a?.storage('lost');
        report.stored = { before: storedBefore, lost: lost?.ok ? lost.count : undefined };
      }
      reports.push(report);
      say(`${f.name}: done`);
    }
    return reports;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}
