/**
 * A local Mainline network of real nodes on loopback UDP, for tests, demos and benchmarks:
 *
 *   const net = await createTestnet(50);
 *   const dht = new Dht({ bootstrap: net.bootstrap });
 *   ...
 *   await net.destroy();
 */
import { Dht, type DhtOptions } from './dht.js';

export interface TestnetOptions {
  /** Options for every node (bootstrap, host and port are set by the testnet). */
  node?: Omit<DhtOptions, 'bootstrap' | 'host' | 'port' | 'transport'>;
  /** Port of the first node (the bootstrap); 0 picks a free one. */
  port?: number;
  host?: string;
  /** Nodes started at once. */
  concurrency?: number;
  /** Called after each node joins, for progress output. */
  onProgress?: (started: number, total: number) => void;
}

export interface Testnet {
  readonly nodes: Dht[];
  /** "host:port" of the first node, to pass as `bootstrap`. */
  readonly bootstrap: string[];
  destroy(): Promise<void>;
}

export async function createTestnet(size: number, options: TestnetOptions = {}): Promise<Testnet> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`a testnet needs at least one node, got ${size}`);
  const host = options.host ?? '127.0.0.1';
  const nodes: Dht[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    const first = new Dht({ ...options.node, host, port: options.port ?? 0, bootstrap: false });
    nodes.push(first);
    await first.listen();
    options.onProgress?.(1, size);
    const bootstrap = [`${host}:${first.address.port}`];
    const concurrency = options.concurrency ?? 16;
    for (let i = 1; i < size; i += concurrency) {
      const batch: Dht[] = [];
      for (let j = i; j < Math.min(size, i + concurrency); j++) {
        // The testnet refreshes every node itself once all have joined (below).
        const node = new Dht({ refreshOnStart: false, ...options.node, host, port: 0, bootstrap });
        nodes.push(node);
        batch.push(node);
      }
      await Promise.all(batch.map((n) => n.start()));
      options.onProgress?.(nodes.length, size);
    }
    // Early joiners saw a small network: one more self-lookup and a refresh of sparse buckets
    // each, so the testnet behaves like a network that has run for a while.
    for (let i = 0; i < nodes.length; i += concurrency) {
      await Promise.all(
        nodes.slice(i, i + concurrency).map(async (n) => {
          await n.findNode(n.id).catch(() => undefined);
          await n.refresh().catch(() => 0);
        }),
      );
    }
    return { nodes, bootstrap, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
