/**
 * Router mode beside the normal node: queries answered per second (the serving benchmark's load
 * generator, 64 outstanding) and memory per contact. The router holds 100,000 verified contacts
 * in 4,096 tables; the node what its one table keeps (about 150). Runnable alone:
 *   npm run build && node dist/bench/router.js
 * and part of `npm run bench` (--only router).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { num, ratio, table } from './format.js';
import { load, startServer } from './serving.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const METHODS = ['ping', 'find_node', 'get_peers'] as const;

interface Memory {
  kind: string;
  contacts: number;
  offers: number;
  bytes: number;
  bytesPerContact: number;
}

async function memory(kind: 'node' | 'router'): Promise<Memory> {
  const child = spawn(process.execPath, ['--expose-gc', here('./router-memory-child.js'), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`router-memory-child ${kind} exited with ${code}`);
  return JSON.parse(out.trim()) as Memory;
}

export interface RouterBench {
  qps: Record<'kadmium' | 'router', Record<string, number>>;
  memory: Memory[];
}

/** Each (method, server) pair measured in `rounds` interleaved rounds; the best round kept. */
export async function runRouter(
  durationMs = 2000,
  window = 64,
  rounds = 2,
): Promise<{ results: RouterBench; text: string }> {
  const qps: RouterBench['qps'] = { kadmium: {}, router: {} };
  const servers = { kadmium: await startServer('kadmium'), router: await startServer('router') };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const method of METHODS) {
        for (const kind of ['kadmium', 'router'] as const) {
          const perSecond = await load(servers[kind].port, method, window, durationMs);
          qps[kind][method] = Math.max(qps[kind][method] ?? 0, perSecond);
        }
      }
    }
  } finally {
    for (const { child } of Object.values(servers)) {
      child.stdin?.end();
      await once(child, 'exit');
    }
  }
  const mem = [await memory('node'), await memory('router')];
  const text = [
    table([
      ['method', 'node q/s (its full table)', 'router q/s (100,000 contacts)', 'router / node'],
      ...METHODS.map((m) => [
        m,
        num(qps.kadmium[m] ?? NaN),
        num(qps.router[m] ?? NaN),
        ratio(qps.router[m] ?? NaN, qps.kadmium[m] ?? NaN),
      ]),
    ]),
    '',
    table([
      ['table', 'contacts kept', 'contacts offered', 'bytes', 'bytes per contact', 'MB per 100,000 contacts'],
      ...mem.map((m) => [
        m.kind === 'router' ? 'router (4,096 x K=32)' : 'node (1 x K=8)',
        num(m.contacts),
        num(m.offers),
        num(m.bytes),
        num(m.bytesPerContact),
        num((m.bytesPerContact * 100_000) / 1e6, 1),
      ]),
    ]),
  ].join('\n');
  return { results: { qps, memory: mem }, text };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { text } = await runRouter();
  process.stdout.write(`## Router beside the node\n\n${text}\n`);
}
