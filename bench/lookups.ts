/**
 * Lookups and memory: each implementation's 500-node loopback testnet in its own child process
 * (with --expose-gc), announce + get_peers latency and datagrams per operation, and heap and RSS
 * per node once the network settled.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { median, num, quantile, ratio, table } from './format.js';

interface ChildResult {
  kind: string;
  nodes: number;
  buildMs: number;
  memory: { heapPerNode: number; arrayBuffersPerNode: number; rssPerNode: number };
  ops: {
    announceMs: number;
    announceDgrams: number;
    getMs: number;
    firstMs: number;
    getDgrams: number;
    found: boolean;
  }[];
}

export interface LookupRow {
  kind: string;
  getMedianMs: number;
  getP95Ms: number;
  /** Time to the announcer's address arriving (first peer), median and p95. */
  firstMedianMs: number;
  firstP95Ms: number;
  getDgrams: number;
  announceMedianMs: number;
  announceP95Ms: number;
  announceDgrams: number;
  found: number;
  ops: number;
  heapPerNode: number;
  arrayBuffersPerNode: number;
  rssPerNode: number;
}

async function child(kind: string, nodes: number, ops: number, latency?: string): Promise<ChildResult> {
  const script = fileURLToPath(new URL('./lookups-child.js', import.meta.url));
  const args = ['--expose-gc', script, kind, String(nodes), String(ops), ...(latency ? [latency] : [])];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${kind} lookup benchmark exited with ${code}`);
  return JSON.parse(out.trim()) as ChildResult;
}

export async function runLookups(
  nodes = 500,
  ops = 100,
  /** kadmium's latency techniques (comma-separated, `none` for none); the default when absent. */
  latency?: string,
): Promise<{ rows: LookupRow[]; lookupText: string; memoryText: string }> {
  const rows: LookupRow[] = [];
  for (const kind of ['kadmium', 'bittorrent-dht']) {
    const r = await child(kind, nodes, ops, kind === 'kadmium' ? latency : undefined);
    rows.push({
      kind,
      getMedianMs: median(r.ops.map((o) => o.getMs)),
      getP95Ms: quantile(
        r.ops.map((o) => o.getMs),
        0.95,
      ),
      firstMedianMs: median(r.ops.map((o) => o.firstMs)),
      firstP95Ms: quantile(
        r.ops.map((o) => o.firstMs),
        0.95,
      ),
      getDgrams: median(r.ops.map((o) => o.getDgrams)),
      announceMedianMs: median(r.ops.map((o) => o.announceMs)),
      announceP95Ms: quantile(
        r.ops.map((o) => o.announceMs),
        0.95,
      ),
      announceDgrams: median(r.ops.map((o) => o.announceDgrams)),
      found: r.ops.filter((o) => o.found).length,
      ops: r.ops.length,
      heapPerNode: r.memory.heapPerNode,
      arrayBuffersPerNode: r.memory.arrayBuffersPerNode,
      rssPerNode: r.memory.rssPerNode,
    });
  }
  const [k, b] = rows as [LookupRow, LookupRow];
  const lookupText = table([
    ['500-node loopback testnet', 'kadmium', 'bittorrent-dht', 'ratio'],
    [
      'get_peers median ms',
      num(k.getMedianMs, 1),
      num(b.getMedianMs, 1),
      ratio(k.getMedianMs, b.getMedianMs),
    ],
    ['get_peers p95 ms', num(k.getP95Ms, 1), num(b.getP95Ms, 1), ratio(k.getP95Ms, b.getP95Ms)],
    [
      'get_peers first peer median ms',
      num(k.firstMedianMs, 1),
      num(b.firstMedianMs, 1),
      ratio(k.firstMedianMs, b.firstMedianMs),
    ],
    [
      'get_peers first peer p95 ms',
      num(k.firstP95Ms, 1),
      num(b.firstP95Ms, 1),
      ratio(k.firstP95Ms, b.firstP95Ms),
    ],
    ['get_peers datagrams (median)', num(k.getDgrams), num(b.getDgrams), ratio(k.getDgrams, b.getDgrams)],
    [
      'announce median ms',
      num(k.announceMedianMs, 1),
      num(b.announceMedianMs, 1),
      ratio(k.announceMedianMs, b.announceMedianMs),
    ],
    [
      'announce p95 ms',
      num(k.announceP95Ms, 1),
      num(b.announceP95Ms, 1),
      ratio(k.announceP95Ms, b.announceP95Ms),
    ],
    [
      'announce datagrams (median)',
      num(k.announceDgrams),
      num(b.announceDgrams),
      ratio(k.announceDgrams, b.announceDgrams),
    ],
    ['get_peers found the announcer', `${k.found}/${k.ops}`, `${b.found}/${b.ops}`, ''],
  ]);
  const kib = (x: number) => num(x / 1024, 1);
  const memoryText = table([
    ['memory per node (500 nodes)', 'kadmium KiB', 'bittorrent-dht KiB', 'ratio'],
    ['heap used', kib(k.heapPerNode), kib(b.heapPerNode), ratio(k.heapPerNode, b.heapPerNode)],
    [
      'array buffers (off the heap)',
      kib(k.arrayBuffersPerNode),
      kib(b.arrayBuffersPerNode),
      ratio(k.arrayBuffersPerNode, b.arrayBuffersPerNode),
    ],
    [
      'heap + array buffers',
      kib(k.heapPerNode + k.arrayBuffersPerNode),
      kib(b.heapPerNode + b.arrayBuffersPerNode),
      ratio(k.heapPerNode + k.arrayBuffersPerNode, b.heapPerNode + b.arrayBuffersPerNode),
    ],
    ['RSS', kib(k.rssPerNode), kib(b.rssPerNode), ratio(k.rssPerNode, b.rssPerNode)],
  ]);
  return { rows, lookupText, memoryText };
}
