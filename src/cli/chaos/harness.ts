/**
 * The chaos harness behind `kadmium chaos`: real nodes in two network namespaces (chaos/netns.ts),
 * faults between them, and probes throughout: each probe announces a fresh infohash from one
 * side and looks it up from the other (cross) and from the same side (local). For each fault it
 * reports success before, during and after, and the time from the end of the fault to the
 * first successful cross probe. Everything is bounded in time and torn down in `finally`, also
 * on SIGINT/SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPair, delay, destroyPair, heal, loss, type Pair, partition, preflight } from './netns.js';

export interface ChaosOptions {
  /** Nodes per namespace. */
  nodes: number;
  /** How long each fault lasts, ms (the partition: 30 s). */
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
}

interface Worker {
  proc: ChildProcess;
  bootstrap: string;
  ask(op: 'announce' | 'get', infohash: string, port: number): Promise<boolean>;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const READY_MS = 60_000;

function startWorker(ns: string, host: string, nodes: number, bootstrap?: string): Promise<Worker> {
  const args = ['netns', 'exec', ns, process.execPath, WORKER, host, String(nodes)];
  if (bootstrap) args.push(bootstrap);
  const proc = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, (ok: boolean) => void>();
  let next = 1;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker in ${ns} not ready after ${READY_MS} ms`)),
      READY_MS,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      for (const done of waiting.values()) done(false);
      waiting.clear();
      reject(new Error(`worker in ${ns} exited (${code})`));
    });
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let msg: { ready?: boolean; bootstrap?: string; id?: number; ok?: boolean };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.ready && msg.bootstrap) {
        clearTimeout(timer);
        resolve({
          proc,
          bootstrap: msg.bootstrap,
          ask: (op, infohash, port) =>
            new Promise((done) => {
              if (proc.exitCode !== null || !proc.stdin?.writable) return done(false);
              const id = next++;
              waiting.set(id, done);
              proc.stdin.write(`${JSON.stringify({ id, op, infohash, port })}\n`);
            }),
        });
      } else if (msg.id !== undefined) {
        waiting.get(msg.id)?.(msg.ok === true);
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
  return (
    `${f.fault}: during cross ${rate(f.during.cross)}, local ${rate(f.during.local)}; ` +
    `after cross ${rate(f.after.cross)}, local ${rate(f.after.local)}; recovered in ${rec}`
  );
}

export async function runChaos(options: ChaosOptions): Promise<FaultReport[]> {
  const problem = preflight();
  if (problem) throw new Error(problem);
  const say = options.onLine ?? (() => {});
  const pair: Pair = createPair(randomBytes(3).toString('hex'));
  const workers: { a?: Worker; b?: Worker } = {};
  const cleanup = (): void => {
    stopWorker(workers.a);
    stopWorker(workers.b);
    destroyPair(pair);
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    workers.a = await startWorker(pair.a, pair.hostA, options.nodes);
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
    const faults: { name: string; inject: () => string | undefined; lift: () => Promise<void> | void }[] = [
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
    ];
    for (const f of faults) {
      const skipped = f.inject();
      if (skipped) {
        reports.push({ fault: f.name, skipped, during: baseline, after: baseline, recoverMs: 0 });
        continue;
      }
      const during = await window(options.faultMs);
      await f.lift();
      const recoverMs = await recover();
      const after = await window(Math.min(options.faultMs, 10_000));
      reports.push({ fault: f.name, during, after, recoverMs });
      say(`${f.name}: done`);
    }
    return reports;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}
