/**
 * The router benchmark's table: contacts on unique private addresses (nobody listens; the router
 * never sends to them in a benchmark: no query reaches its verify loop except the load
 * generator's), offered as verified until the table holds `target` contacts.
 */
import { asNodeId } from '../src/kademlia/id.js';
import type { ShardedTable } from '../src/node/router-table.js';
import { SeededRandom } from '../src/util/random.js';

/** 4,096 tables of K = 32: room for 100,000 contacts spread over the whole keyspace. */
export const ROUTER_BENCH = { shardBits: 12, k: 32, contacts: 100_000 } as const;
/** Offers at most this many contacts while filling (bounded even if a table refuses many). */
const MAX_OFFERS = 2_000_000;

/** Fill the table to `target` contacts (or as close as MAX_OFFERS allows); returns the offers made. */
export function fillRouter(
  table: Pick<ShardedTable, 'size' | 'observe'>,
  target: number,
  now: number,
  maxOffers = MAX_OFFERS,
  seed = 99,
): number {
  const random = new SeededRandom(seed);
  let offers = 0;
  while (table.size < target && offers < maxOffers) {
    const i = offers++;
    table.observe(
      {
        id: asNodeId(random.bytes(20)),
        address: {
          host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          port: 1 + (i % 60_000),
          family: 4,
        },
      },
      true,
      now,
    );
  }
  return offers;
}
