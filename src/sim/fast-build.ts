/**
 * Fast build: fill every node's routing table straight from a global sorted list of ids, instead
 * of having each node bootstrap through real lookups (which costs ~100 datagrams per node and
 * dominates a 100,000-node run). For each node and each depth d, the ids sharing exactly d leading
 * bits with it form one contiguous range of the sorted list; the node learns up to `perBucket`
 * random ids from each range, as if it had heard from them. Only reachable (non-NATed) nodes are
 * handed out, which is the steady state of a real network: NATed nodes never answer the pings
 * that would keep them in tables.
 *
 * The tables are then exercised by real lookups; nothing else about the nodes is bypassed.
 */
import type { Contact as KademliaContact, RoutingTable } from '../kademlia/routing-table.js';
import type { Address } from '../transport/address.js';
import type { Random } from '../util/random.js';
import type { SimNode } from './world.js';

/** A table contact; the id type is the node's own (NodeId), taken from Dht. */
interface Contact {
  id: SimNode['dht']['id'];
  address: Address;
}

type TableContact = KademliaContact;

function bit(id: Uint8Array, d: number): number {
  return ((id[d >> 3] as number) >> (7 - (d & 7))) & 1;
}

function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

/** First index in [lo, hi) whose bit d is 1 (ids in the range share bits before d). */
function splitAt(ids: readonly { id: Uint8Array }[], lo: number, hi: number, d: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bit((ids[mid] as { id: Uint8Array }).id, d) === 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Seed the tables of `nodes` from the reachable ones among `population`. Returns the number of
 * contacts offered. `onProgress` is called every 1,000 nodes.
 */
export function seedRoutingTables(
  nodes: readonly SimNode[],
  population: readonly SimNode[],
  random: Random,
  now: number,
  perBucket = 8,
  onProgress?: (done: number, total: number) => void,
): number {
  const contacts: Contact[] = population
    // Read-only nodes (BEP 43) are never put in anyone's table.
    .filter((n) => !n.nat && !n.readOnly && n.alive)
    .map((n) => ({ id: n.dht.id, address: n.endpoint.address }));
  return seedTables(
    // Each table's own bucket widths (wide far buckets under `wide-buckets`), or the build would
    // hide what wider buckets do.
    nodes.map((n) => ({
      id: n.dht.id,
      table: n.dht.table,
      limit: (d: number) => n.dht.table.bucketLimit(d),
    })),
    contacts,
    random,
    now,
    perBucket,
    onProgress,
  );
}

/** Any routing table and the id it is built around (Mainline's or the overlay's). */
export interface SeedTarget {
  readonly id: Uint8Array;
  readonly table: Pick<RoutingTable, 'observe'>;
  /** Contacts to seed at depth d (default: seedTables' perBucket at every depth). */
  readonly limit?: (depth: number) => number;
}

/** Seed each target's table with up to `perBucket` random contacts per depth (see the header). */
export function seedTables(
  targets: readonly SeedTarget[],
  contacts: readonly TableContact[],
  random: Random,
  now: number,
  perBucket = 8,
  onProgress?: (done: number, total: number) => void,
): number {
  const sorted = [...contacts].sort((a, b) => compareIds(a.id, b.id));
  let offered = 0;
  let done = 0;
  for (const { id: self, table, limit } of targets) {
    const bits = self.length * 8;
    let lo = 0;
    let hi = sorted.length;
    for (let d = 0; d < bits && hi > lo; d++) {
      const m = splitAt(sorted, lo, hi, d);
      const [sLo, sHi] = bit(self, d) === 0 ? [m, hi] : [lo, m];
      if (bit(self, d) === 0) hi = m;
      else lo = m;
      const size = sHi - sLo;
      const want = limit ? limit(d) : perBucket;
      if (size <= want) {
        for (let i = sLo; i < sHi; i++) table.observe(sorted[i] as TableContact, true, now);
        offered += size;
      } else {
        // `want` distinct random picks from the range (rejection; want < size).
        const picked = new Set<number>();
        while (picked.size < want) picked.add(sLo + random.int(size));
        for (const i of picked) table.observe(sorted[i] as TableContact, true, now);
        offered += want;
      }
    }
    if (++done % 1000 === 0) onProgress?.(done, targets.length);
  }
  onProgress?.(done, targets.length);
  return offered;
}
