/**
 * One chaos worker: `node worker.js HOST COUNT [BOOTSTRAP|-] [REDIS_URL]` runs COUNT real nodes on
 * HOST inside the network namespace it was started in (with REDIS_URL, each stores peers and
 * items in that Redis, behind the storage breakers), and answers JSON-line requests on stdin:
 *
 *   {"id":1,"op":"announce","infohash":"<hex>","port":7000}  -> {"id":1,"ok":true,"ms":120}
 *   {"id":2,"op":"get","infohash":"<hex>","port":7000}       -> {"id":2,"ok":true,"ms":95}
 *   {"id":3,"op":"snapshot"}  -> {"id":3,"ok":true,"count":N}  (remember what every node stores)
 *   {"id":4,"op":"lost"}      -> {"id":4,"ok":true,"count":L}  (of those, how many are gone, once
 *                                                                no breaker is open any more)
 *
 * (`get` is ok when the peer with that port comes back). Its first line on stdout is
 * {"ready":true,"bootstrap":"HOST:PORT","nodes":N}. It exits when stdin closes.
 */
import { setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { Dht } from '../../node/dht.js';
import { openStorage, type Storage } from '../../storage/open.js';
import { fromHex, toHex } from '../../util/bytes.js';

/** A chaos operation gives up after this long, ms (the harness counts it as failed). */
export const OP_TIMEOUT_MS = 8_000;
/** `lost` waits at most this long for every storage breaker to close, ms. */
export const RESYNC_WAIT_MS = 30_000;
/** Infohashes per node a snapshot remembers. */
const SNAPSHOT_MAX = 10_000;

interface Request {
  id: number;
  op: 'announce' | 'get' | 'snapshot' | 'lost';
  infohash: string;
  port: number;
}

/** Each node's storage (with REDIS_URL), and how many of their breakers are open now. */
const storages: Storage[] = [];
const openBreakers = new Set<string>();
let snapshot = new Set<string>();

async function stored(): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const [i, s] of storages.entries())
    for (const ih of await s.peers.infohashes(SNAPSHOT_MAX)) keys.add(`${i}/${toHex(ih)}`);
  return keys;
}

async function main(): Promise<void> {
  const [host = '127.0.0.1', countText = '4', bootstrapArg, redisUrl] = process.argv.slice(2);
  const bootstrap = bootstrapArg === '-' ? undefined : bootstrapArg;
  const count = Math.max(1, Math.min(64, Number(countText) || 4));
  const nodes: Dht[] = [];
  const common = {
    host,
    port: 0,
    ipv6: false as const,
    rateLimit: false as const,
    maintenanceIntervalMs: 5_000,
  };
  const storageFor = async (
    i: number,
  ): Promise<{ peerStore?: Storage['peers']; itemStore?: Storage['items'] }> => {
    if (!redisUrl) return {};
    const storage = await openStorage({
      kind: 'redis',
      url: redisUrl,
      namespace: `kchaos:${i}:`,
      onBreaker: (c) => {
        if (c.state === 'closed') openBreakers.delete(`${i}/${c.detail.startsWith('peer') ? 'p' : 'i'}`);
        else openBreakers.add(`${i}/${c.detail.startsWith('peer') ? 'p' : 'i'}`);
      },
    });
    storages.push(storage);
    return { peerStore: storage.peers, itemStore: storage.items };
  };
  const first = new Dht({ ...common, ...(await storageFor(0)), bootstrap: bootstrap ? [bootstrap] : false });
  nodes.push(first);
  if (bootstrap) await first.start();
  else await first.listen();
  const via = `${host}:${first.address.port}`;
  for (let i = 1; i < count; i++)
    nodes.push(new Dht({ ...common, ...(await storageFor(i)), bootstrap: [bootstrap ?? via] }));
  await Promise.all(nodes.slice(1).map((n) => n.start()));
  process.stdout.write(`${JSON.stringify({ ready: true, bootstrap: via, nodes: nodes.length })}\n`);

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      return;
    }
    void serve(nodes, req).then((out) => process.stdout.write(`${JSON.stringify(out)}\n`));
  });
  lines.on('close', () => {
    void Promise.all([...nodes.map((n) => n.close()), ...storages.map((s) => s.close())]).then(() =>
      process.exit(0),
    );
  });
}

async function serve(
  nodes: Dht[],
  req: Request,
): Promise<{ id: number; ok: boolean; ms: number; count?: number; error?: string }> {
  if (req.op === 'snapshot' || req.op === 'lost') return storageOp(req);
  const node = nodes[Math.floor(Math.random() * nodes.length)] as Dht;
  const infohash = fromHex(req.infohash);
  const started = Date.now();
  if (!infohash || infohash.length !== 20) return { id: req.id, ok: false, ms: 0, error: 'bad infohash' };
  try {
    const signal = AbortSignal.timeout(OP_TIMEOUT_MS);
    // A lookup's queries each listen on it: a dozen at once is normal, not a leak.
    setMaxListeners(256, signal);
    if (req.op === 'announce') {
      const r = await node.announce(infohash, { port: req.port, signal });
      return { id: req.id, ok: r.announcedTo > 0, ms: Date.now() - started };
    }
    for await (const peer of node.getPeers(infohash, { signal })) {
      // The first matching peer is what a user waits for.
      if (peer.port === req.port) return { id: req.id, ok: true, ms: Date.now() - started };
    }
    return { id: req.id, ok: false, ms: Date.now() - started };
  } catch (err) {
    return { id: req.id, ok: false, ms: Date.now() - started, error: (err as Error).message };
  }
}

/** The zero-loss check around a Redis restart (see the header). */
async function storageOp(req: Request): Promise<{ id: number; ok: boolean; ms: number; count?: number }> {
  const started = Date.now();
  if (storages.length === 0) return { id: req.id, ok: false, ms: 0 };
  if (req.op === 'snapshot') {
    snapshot = await stored();
    return { id: req.id, ok: true, ms: Date.now() - started, count: snapshot.size };
  }
  while (openBreakers.size > 0 && Date.now() - started < RESYNC_WAIT_MS)
    await new Promise((r) => setTimeout(r, 100));
  if (openBreakers.size > 0) return { id: req.id, ok: false, ms: Date.now() - started };
  const now = await stored();
  let lost = 0;
  for (const key of snapshot) if (!now.has(key)) lost++;
  return { id: req.id, ok: true, ms: Date.now() - started, count: lost };
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos worker: ${String(err)}\n`);
  process.exit(1);
});
