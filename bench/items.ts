/**
 * BEP 44 latency on a loopback testnet: put and get, immutable and mutable (with salt), each
 * from a different node than the one reading it back. Run alone: `node dist/bench/items.js
 * [nodes] [rounds]`; the bench runner imports `benchItems`.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createTestnet } from '../src/node/testnet.js';
import { keypairFromSeed } from '../src/protocols/mainline/bep44.js';

export interface ItemLatencyRow {
  operation: 'put immutable' | 'get immutable' | 'put mutable' | 'get mutable';
  medianMs: number;
  p95Ms: number;
  samples: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0) * 10) / 10
  );
}

export async function benchItems(nodes = 50, rounds = 50): Promise<ItemLatencyRow[]> {
  const net = await createTestnet(nodes);
  const samples: Record<ItemLatencyRow['operation'], number[]> = {
    'put immutable': [],
    'get immutable': [],
    'put mutable': [],
    'get mutable': [],
  };
  const time = async <T>(op: ItemLatencyRow['operation'], fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await fn();
    samples[op].push(performance.now() - started);
    return result;
  };
  try {
    for (let i = 0; i < rounds; i++) {
      const writer = net.nodes[i % nodes]!;
      const reader = net.nodes[(i * 7 + 3) % nodes]!;
      const put = await time('put immutable', () =>
        writer.putImmutable(randomBytes(100), { republish: false }),
      );
      if (!(await time('get immutable', () => reader.get(put.target))))
        throw new Error('immutable item not found');
      const keyPair = keypairFromSeed(new Uint8Array(randomBytes(32)));
      const m = await time('put mutable', () =>
        writer.putMutable({ keyPair, v: randomBytes(100), salt: 'bench', republish: false }),
      );
      if (!(await time('get mutable', () => reader.get(m.target, { salt: 'bench' }))))
        throw new Error('mutable item not found');
    }
  } finally {
    await net.destroy();
  }
  return Object.entries(samples).map(([operation, values]) => ({
    operation: operation as ItemLatencyRow['operation'],
    medianMs: percentile(values, 50),
    p95Ms: percentile(values, 95),
    samples: values.length,
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const nodes = Number(process.argv[2] ?? 50);
  const rounds = Number(process.argv[3] ?? 50);
  const rows = await benchItems(nodes, rounds);
  console.log(`BEP 44 on a ${nodes}-node loopback testnet, ${rounds} rounds`);
  console.table(rows);
}
