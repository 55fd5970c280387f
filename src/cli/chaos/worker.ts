/**
 * One chaos worker: `node worker.js HOST COUNT [BOOTSTRAP]` runs COUNT real nodes on HOST inside
 * the network namespace it was started in, and answers JSON-line requests on stdin:
 *
 *   {"id":1,"op":"announce","infohash":"<hex>","port":7000}  -> {"id":1,"ok":true,"ms":120}
 *   {"id":2,"op":"get","infohash":"<hex>","port":7000}       -> {"id":2,"ok":true,"ms":95}
 *
 * (`get` is ok when the peer with that port comes back). Its first line on stdout is
 * {"ready":true,"bootstrap":"HOST:PORT","nodes":N}. It exits when stdin closes.
 */
import { setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { Dht } from '../../node/dht.js';
import { fromHex } from '../../util/bytes.js';

/** A chaos operation gives up after this long, ms (the harness counts it as failed). */
export const OP_TIMEOUT_MS = 8_000;

interface Request {
  id: number;
  op: 'announce' | 'get';
  infohash: string;
  port: number;
}

async function main(): Promise<void> {
  const [host = '127.0.0.1', countText = '4', bootstrap] = process.argv.slice(2);
  const count = Math.max(1, Math.min(64, Number(countText) || 4));
  const nodes: Dht[] = [];
  const common = {
    host,
    port: 0,
    ipv6: false as const,
    rateLimit: false as const,
    maintenanceIntervalMs: 5_000,
  };
  const first = new Dht({ ...common, bootstrap: bootstrap ? [bootstrap] : false });
  nodes.push(first);
  if (bootstrap) await first.start();
  else await first.listen();
  const via = `${host}:${first.address.port}`;
  for (let i = 1; i < count; i++) nodes.push(new Dht({ ...common, bootstrap: [bootstrap ?? via] }));
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
    void Promise.all(nodes.map((n) => n.close())).then(() => process.exit(0));
  });
}

async function serve(
  nodes: Dht[],
  req: Request,
): Promise<{ id: number; ok: boolean; ms: number; error?: string }> {
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

main().catch((err: unknown) => {
  process.stderr.write(`chaos worker: ${String(err)}\n`);
  process.exit(1);
});
