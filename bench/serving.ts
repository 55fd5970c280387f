/**
 * Serving: queries per second one node answers on loopback, the load generator in another
 * process with 64 queries outstanding; kadmium vs bittorrent-dht vs a raw dgram echo server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { num, ratio, table } from './format.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const SERVERS = ['echo', 'kadmium', 'bittorrent-dht'] as const;
const METHODS = ['ping', 'find_node', 'get_peers'] as const;

export async function startServer(kind: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [here('./serve-child.js'), kind], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let buffered = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    buffered += chunk.toString();
    if (buffered.includes('\n')) break;
  }
  const { port } = JSON.parse(buffered.split('\n')[0] as string) as { port: number };
  return { child, port };
}

export async function load(
  port: number,
  method: string,
  window: number,
  durationMs: number,
): Promise<number> {
  const child = spawn(
    process.execPath,
    [here('./loadgen.js'), String(port), method, String(window), String(durationMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'exit');
  const result = JSON.parse(out.trim()) as { perSecond: number; error?: string };
  if (result.error) throw new Error(`load generator: ${result.error} (${method} on port ${port})`);
  return result.perSecond;
}

export type ServingResults = Record<string, Record<string, number>>;

/**
 * All three servers run at once (idle unless loaded); each (method, server) pair is measured in
 * `rounds` interleaved rounds and the best round kept: interference on a shared machine only
 * ever slows a round down.
 */
export async function runServing(
  durationMs = 2000,
  window = 64,
  rounds = 3,
): Promise<{ results: ServingResults; text: string }> {
  const results: ServingResults = {};
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  try {
    for (const kind of SERVERS) servers.set(kind, await startServer(kind));
    for (let round = 0; round < rounds; round++) {
      for (const method of METHODS) {
        for (const kind of SERVERS) {
          // The echo server answers every method alike: ping's numbers stand for all.
          if (kind === 'echo' && method !== 'ping') continue;
          const perSecond = await load(
            (servers.get(kind) as { port: number }).port,
            method,
            window,
            durationMs,
          );
          const row = (results[kind] ??= {});
          row[method] = Math.max(row[method] ?? 0, perSecond);
        }
      }
    }
    const echo = results.echo as Record<string, number>;
    for (const m of METHODS) echo[m] = echo.ping as number;
  } finally {
    for (const { child } of servers.values()) {
      child.stdin?.end();
      await once(child, 'exit');
    }
  }
  const get = (k: string, m: string) => results[k]?.[m] ?? Number.NaN;
  const text = table([
    [
      'method',
      'raw echo q/s',
      'kadmium q/s',
      'bittorrent-dht q/s',
      'kadmium / echo',
      'kadmium / bittorrent-dht',
    ],
    ...METHODS.map((m) => [
      m,
      num(get('echo', m)),
      num(get('kadmium', m)),
      num(get('bittorrent-dht', m)),
      ratio(get('kadmium', m), get('echo', m)),
      ratio(get('kadmium', m), get('bittorrent-dht', m)),
    ]),
  ]);
  return { results, text };
}
