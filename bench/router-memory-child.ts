/**
 * Memory of a routing table, in a process of its own, run with --expose-gc: `node` is a normal
 * node's table (one RoutingTable, K = 8), `router` the router's (ROUTER_BENCH). Both are offered
 * the same seeded contacts; the node's keeps what its buckets hold, the router's fills to 100,000.
 * Prints one JSON line: {"kind", "contacts", "offers", "bytes", "bytesPerContact"}.
 */
import { RoutingTable } from '../src/kademlia/routing-table.js';
import { asNodeId } from '../src/kademlia/id.js';
import { ShardedTable } from '../src/node/router-table.js';
import { SeededRandom } from '../src/util/random.js';
import { fillRouter, ROUTER_BENCH } from './router-fixture.js';

const kind = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
/** Offers to a node's table: far more than it can hold, so it is as full as it gets. */
const NODE_OFFERS = 200_000;

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const before = used();
let table: { size: number };
let offers: number;
const now = Date.now();
if (kind === 'router') {
  const t = new ShardedTable(20, ROUTER_BENCH.shardBits, { k: ROUTER_BENCH.k }, new SeededRandom(1), now);
  offers = fillRouter(t, ROUTER_BENCH.contacts, now);
  table = t;
} else {
  const t = new RoutingTable(asNodeId(new SeededRandom(1).bytes(20)), { k: 8 }, now);
  offers = fillRouter(t, Number.POSITIVE_INFINITY, now, NODE_OFFERS);
  table = t;
}
const bytes = used() - before;
process.stdout.write(
  `${JSON.stringify({ kind, contacts: table.size, offers, bytes, bytesPerContact: bytes / table.size })}\n`,
);
