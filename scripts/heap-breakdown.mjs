#!/usr/bin/env node
/**
 * Where a node's heap goes (docs/BENCHMARKS.md, Memory): builds an in-process loopback testnet of
 * IPv4 nodes with the default options, as the 500-node benchmark does, lets it settle for 3 s,
 * then empties one per-node structure at a time across every node and prints the heap each one
 * freed, per node. What is left at the end is everything not listed.
 *
 *   npm run build && node --expose-gc scripts/heap-breakdown.mjs [--nodes 300] [--latency LIST]
 *
 * It reaches into fields TypeScript marks private: a measuring tool, not an API.
 */
import { parseArgs } from 'node:util';
import { createTestnet } from '../dist/src/node/testnet.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '300' },
    latency: { type: 'string' },
  },
});
const gc = globalThis.gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const nodes = Number(values.nodes);
if (!Number.isInteger(nodes) || nodes < 2) {
  console.error(`--nodes must be an integer of at least 2, got ${values.nodes}`);
  process.exit(2);
}
const latency = values.latency?.split(',').filter((t) => t !== 'none');

const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const kib = (bytes) => (bytes / nodes / 1024).toFixed(1).padStart(6);

const base = heap();
const net = await createTestnet(nodes, {
  concurrency: 16,
  node: { ipv6: false, ...(latency ? { latency } : {}) },
});
await new Promise((resolve) => setTimeout(resolve, 3000));
let last = heap();
console.log(`${kib(last - base)} KiB heap per node, ${nodes} nodes`);

/** [what, where it is on one node]. */
const parts = [
  ['RTT per address (kademlia/rtt.ts)', (n) => n.latency.rtt.byAddress],
  ['RTT window and its sorted copy', (n) => ((n.latency.rtt.sorted = undefined), n.latency.rtt.window)],
  ['hole puncher: recent queriers (node/punch.ts)', (n) => n.handlerContext.punch.recent],
  ['hole puncher: recent hosts', (n) => n.handlerContext.punch.recentByHost],
  ['routing table address index', (n) => n.nodeTables.v4.addresses.byIp],
  ['external-IP ballot', (n) => n.voter.v4.voters],
];
for (const [what, find] of parts) {
  let entries = 0;
  for (const dht of net.nodes) {
    const held = find(dht);
    if (typeof held?.clear === 'function' && typeof held.size === 'number') {
      // Map, Set, AddressSlab
      entries += held.size;
      held.clear();
    } else if (Array.isArray(held)) {
      entries += held.length;
      held.length = 0;
    } else throw new Error(`${what}: not found where this script looks (the code moved)`);
  }
  const now = heap();
  console.log(`${kib(last - now)} KiB  ${what} (${(entries / nodes).toFixed(1)} entries a node)`);
  last = now;
}
console.log(`${kib(last - base)} KiB  everything else`);
await net.destroy();
