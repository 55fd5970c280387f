/**
 * What every serving benchmark program shares, so they measure the same thing: the fake contacts
 * the servers' routing tables are filled with (loopback addresses where nobody listens, from one
 * seed) and the queries the load generator sends.
 */
import { SeededRandom } from '../src/util/random.js';
import { encode } from '../src/wire/bencode.js';

/** Contacts offered to a server's table; enough to fill every bucket a table can hold. */
export const TABLE_CONTACTS = 5_000;

export interface FakeContact {
  id: Uint8Array;
  host: string;
  port: number;
}

/** The contacts, the same in every process: 127.x.y.z addresses, ids from seed 99. */
export function fakeContacts(): FakeContact[] {
  const random = new SeededRandom(99);
  return Array.from({ length: TABLE_CONTACTS }, (_, i) => ({
    id: random.bytes(20),
    host: `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    port: 1 + (i % 60_000),
  }));
}

/** The 256 targets (find_node) and infohashes (get_peers) queries cycle through. */
export const TARGETS: readonly Uint8Array[] = Array.from({ length: 256 }, (_, i) => {
  const t = new Uint8Array(20);
  for (let j = 0; j < 20; j++) t[j] = (i * 131 + j * 29 + ((i * j) % 251)) & 0xff;
  return t;
});

const QUERIER_ID = new Uint8Array(20).fill(7);
const txt = (s: string) => new TextEncoder().encode(s);

/** One query of `method` (ping, find_node or get_peers) for a target, with transaction id `tid`. */
export function servingQuery(method: string, target: Uint8Array, tid: number): Uint8Array {
  const a: Record<string, Uint8Array> = { id: QUERIER_ID };
  if (method === 'find_node') a.target = target;
  if (method === 'get_peers') a.info_hash = target;
  return encode({ a, q: txt(method), t: new Uint8Array([tid >> 8, tid & 255]), y: txt('q') });
}
