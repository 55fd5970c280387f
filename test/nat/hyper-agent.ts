/**
 * hyperdht (Hyperswarm's DHT, the anchor) inside a test-bed namespace, driven like agent.ts: one
 * JSON command per line in, one answer per line out. It exits when stdin closes.
 */
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

// hyperdht ships no types; this is the little of it we use.
interface HyperSocket {
  on(event: 'open' | 'error' | 'close', fn: (err?: Error) => void): void;
  destroy(): void;
}
interface HyperNode {
  fullyBootstrapped(): Promise<void>;
  createServer(): {
    listen(kp: unknown): Promise<void>;
    on(e: 'connection', fn: (s: HyperSocket) => void): void;
  };
  connect(publicKey: Buffer): HyperSocket;
  destroy(): Promise<void>;
  firewalled: boolean;
}
interface HyperDhtStatic {
  new (opts: Record<string, unknown>): HyperNode;
  bootstrapper(port: number, host: string, opts?: Record<string, unknown>): HyperNode;
  keyPair(): { publicKey: Buffer; secretKey: Buffer };
}
const DHT = createRequire(import.meta.url)('hyperdht') as HyperDhtStatic;

const nodes: HyperNode[] = [];

async function run(c: Record<string, unknown>): Promise<unknown> {
  switch (c.op) {
    case 'bootstrapper': {
      const b = DHT.bootstrapper(Number(c.port), String(c.host));
      nodes.push(b);
      await b.fullyBootstrapped();
      // A few persistent nodes beside it, so the network can route and test firewalls.
      for (let i = 0; i < Number(c.extra ?? 3); i++) {
        const n = new DHT({
          bootstrap: [`${c.host}:${c.port}`],
          ephemeral: false,
          firewalled: false,
          host: '0.0.0.0',
        });
        nodes.push(n);
        await n.fullyBootstrapped();
      }
      return { nodes: nodes.length };
    }
    case 'listen': {
      const n = new DHT({ bootstrap: c.bootstrap as string[] });
      nodes.push(n);
      await n.fullyBootstrapped();
      const kp = DHT.keyPair();
      const server = n.createServer();
      server.on('connection', (s) => s.on('error', () => undefined));
      await server.listen(kp);
      return { publicKey: kp.publicKey.toString('hex'), firewalled: n.firewalled };
    }
    case 'start': {
      const n = new DHT({ bootstrap: c.bootstrap as string[] });
      nodes.push(n);
      await n.fullyBootstrapped();
      return { firewalled: n.firewalled };
    }
    case 'connect': {
      const n = nodes[nodes.length - 1]!;
      const started = Date.now();
      const timeoutMs = Number(c.timeoutMs ?? 5000);
      return await new Promise((resolve) => {
        const socket = n.connect(Buffer.from(String(c.publicKey), 'hex'));
        const timer = setTimeout(() => {
          socket.destroy();
          resolve({ ok: false, ms: Date.now() - started, error: `timeout after ${timeoutMs} ms` });
        }, timeoutMs);
        socket.on('open', () => {
          clearTimeout(timer);
          resolve({ ok: true, ms: Date.now() - started });
          socket.destroy();
        });
        socket.on('error', (err) => {
          clearTimeout(timer);
          resolve({ ok: false, ms: Date.now() - started, error: String(err?.message ?? err) });
        });
      });
    }
    default:
      throw new Error(`unknown op ${String(c.op)}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  run(c).then(
    (result) => process.stdout.write(JSON.stringify({ id: c.id, ok: true, result }) + '\n'),
    (err: unknown) =>
      process.stdout.write(JSON.stringify({ id: c.id, ok: false, error: String(err) }) + '\n'),
  );
});
lines.on('close', () => {
  void Promise.allSettled(nodes.map((n) => n.destroy())).finally(() => process.exit(0));
});
