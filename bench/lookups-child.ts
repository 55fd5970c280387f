/**
 * One implementation's 500-node loopback testnet in this process (run with --expose-gc): heap and
 * RSS per node once the network has settled, then announce + get_peers operations one at a time,
 * each timed and its datagrams counted (every dgram send in the process, so queries and replies).
 * Prints one JSON line.
 */
import dgram from 'node:dgram';
import DHT from 'bittorrent-dht';
import { Dht } from '../src/node/dht.js';
import { createTestnet } from '../src/node/testnet.js';
import { SeededRandom } from '../src/util/random.js';

const [kind, nodesText, opsText, latencyText] = process.argv.slice(2);
const NODES = Number(nodesText ?? 500);
const LATENCY = latencyText === undefined ? undefined : latencyText.split(',').filter((t) => t !== 'none');
const OPS = Number(opsText ?? 100);
const OP_TIMEOUT_MS = 20_000;
const SETTLE_MS = 3_000;

let datagrams = 0;
const originalSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
  datagrams++;
  return (originalSend as (...a: unknown[]) => void).apply(this, args);
} as typeof dgram.Socket.prototype.send;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const random = new SeededRandom(2024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Impl {
  size: number;
  announce(node: number, infoHash: Uint8Array, port: number): Promise<void>;
  /** Ports of the peers found; onPort hears each as it arrives (for time to first peer). */
  getPeers(node: number, infoHash: Uint8Array, onPort: (port: number) => void): Promise<number[]>;
  destroy(): Promise<void>;
}

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function kadmium(): Promise<Impl> {
  // IPv4 only, like bittorrent-dht: a dual-stack node would also keep an IPv6 socket and table.
  // LATENCY (the optional 4th argument, comma-separated): the nodes' latency techniques instead of
  // the default, to measure what one default (wide buckets, say) does to datagrams per lookup.
  const net = await createTestnet(NODES, {
    concurrency: 16,
    node: { ipv6: false, ...(LATENCY !== undefined ? { latency: LATENCY } : {}) },
  });
  return {
    size: net.nodes.length,
    async announce(i, infoHash, port) {
      await (net.nodes[i] as Dht).announce(infoHash, { port });
    },
    async getPeers(i, infoHash, onPort) {
      const ports: number[] = [];
      for await (const p of (net.nodes[i] as Dht).getPeers(infoHash)) {
        onPort(p.port);
        ports.push(p.port);
      }
      return ports;
    },
    destroy: () => net.destroy(),
  };
}

async function bittorrentDht(): Promise<Impl> {
  const nodes: DHT[] = [];
  const first = new DHT({ bootstrap: false });
  nodes.push(first);
  await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', () => resolve()));
  const bootstrap = [`127.0.0.1:${first.address().port}`];
  for (let i = 1; i < NODES; i += 16) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(NODES, i + 16); j++) {
      const dht = new DHT({ bootstrap });
      dht.listen(0, '127.0.0.1');
      nodes.push(dht);
      batch.push(new Promise((resolve) => dht.once('ready', () => resolve())));
    }
    await bounded(Promise.all(batch), 'bittorrent-dht bootstrap');
  }
  return {
    size: nodes.length,
    announce: (i, infoHash, port) =>
      new Promise((resolve, reject) =>
        (nodes[i] as DHT).announce(Buffer.from(infoHash), port, (err) => (err ? reject(err) : resolve())),
      ),
    getPeers: (i, infoHash, onPort) =>
      new Promise((resolve, reject) => {
        const dht = nodes[i] as DHT;
        const ports: number[] = [];
        const key = Buffer.from(infoHash).toString('hex');
        const onPeer = (peer: { port: number }, ih: Buffer) => {
          if (ih.toString('hex') !== key) return;
          onPort(peer.port);
          ports.push(peer.port);
        };
        dht.on('peer', onPeer);
        dht.lookup(Buffer.from(infoHash), (err) => {
          dht.off('peer', onPeer);
          if (err) reject(err);
          else resolve(ports);
        });
      }),
    destroy: () =>
      Promise.all(nodes.map((n) => new Promise<void>((r) => n.destroy(() => r())))).then(() => undefined),
  };
}

async function main(): Promise<void> {
  gc?.();
  const before = process.memoryUsage();
  const buildStart = performance.now();
  const impl = kind === 'kadmium' ? await kadmium() : await bittorrentDht();
  const buildMs = performance.now() - buildStart;
  await sleep(SETTLE_MS);
  gc?.();
  await sleep(100);
  gc?.();
  const after = process.memoryUsage();
  const memory = {
    heapPerNode: (after.heapUsed - before.heapUsed) / impl.size,
    // Buffers and typed arrays keep their bytes outside the heap: routing-table slabs here, ids
    // and datagrams in bittorrent-dht. Counted apart so neither side hides memory there.
    arrayBuffersPerNode: (after.arrayBuffers - before.arrayBuffers) / impl.size,
    rssPerNode: (after.rss - before.rss) / impl.size,
  };
  const ops: {
    announceMs: number;
    announceDgrams: number;
    getMs: number;
    /** Time to the announcer's port arriving; equal to getMs when it never did. */
    firstMs: number;
    getDgrams: number;
    found: boolean;
  }[] = [];
  for (let op = 0; op < OPS; op++) {
    const infoHash = random.bytes(20);
    const a = random.int(impl.size);
    let g = random.int(impl.size);
    if (g === a) g = (g + 1) % impl.size;
    const port = 10_000 + op;
    let d0 = datagrams;
    let t0 = performance.now();
    await bounded(impl.announce(a, infoHash, port), 'announce');
    const announceMs = performance.now() - t0;
    const announceDgrams = datagrams - d0;
    await sleep(20);
    d0 = datagrams;
    t0 = performance.now();
    let firstMs: number | undefined;
    const start = t0;
    const ports = await bounded(
      impl.getPeers(g, infoHash, (p) => {
        if (p === port && firstMs === undefined) firstMs = performance.now() - start;
      }),
      'get_peers',
    );
    const getMs = performance.now() - t0;
    ops.push({
      announceMs,
      announceDgrams,
      getMs,
      firstMs: firstMs ?? getMs,
      getDgrams: datagrams - d0,
      found: ports.includes(port),
    });
    await sleep(20);
  }
  process.stdout.write(`${JSON.stringify({ kind, nodes: impl.size, buildMs, memory, ops })}\n`);
  await impl.destroy();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${kind}: ${String(err)}\n`);
  process.exit(1);
});
