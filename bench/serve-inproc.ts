/**
 * kadmium's own per-query cost when serving, without sockets: the same queries and routing table
 * as the serving benchmark, fed straight into the node's transport handler (decode, handler,
 * encode), replies dropped. What is left of a served query's cost is Node's dgram and the kernel,
 * which the echo server pays too. Run: node dist/bench/serve-inproc.js [method ...]
 *
 * Wall time of the loop only: GC work on V8's background threads is not in it (the serving
 * benchmark pays that, on the same two CPUs as the load generator).
 */
import { Dht } from '../src/node/dht.js';
import type { Address } from '../src/transport/address.js';
import type { DatagramHandler, Transport } from '../src/transport/transport.js';
import { fakeContacts, servingQuery, TARGETS } from './serving-fixture.js';

const QUERIES = 200_000;
/** Queries handed over between turns of the event loop (the load generator keeps 64 outstanding). */
const WINDOW = 64;
const ROUNDS = 4;

let handler: DatagramHandler = () => {};
let sent = 0;
const transport: Transport = {
  address: { host: '127.0.0.1', port: 1, family: 4 },
  // Replies only: the node may also ping the load generator to verify it (a query, `1:y1:q`).
  send: (data) => {
    if (data[data.length - 2] !== 0x71) sent++;
  },
  onMessage: (h) => {
    handler = h;
  },
  onError: () => {},
  close: async () => {},
};

const dht = new Dht({ transport, bootstrap: false });
await dht.listen();
// The table serve-child.ts builds, and the queries loadgen.ts sends.
for (const c of fakeContacts()) {
  const address: Address = { host: c.host, port: c.port, family: 4 };
  dht.table.observe({ id: c.id as never, address }, true, Date.now());
}

const from: Address = { host: '127.0.0.1', port: 40_000, family: 4 };
const methods = process.argv.length > 2 ? process.argv.slice(2) : ['ping', 'find_node', 'get_peers'];
process.stdout.write(`kadmium table: ${dht.table.size} nodes; us per query, best of ${ROUNDS - 1} rounds\n`);
for (const method of methods) {
  const messages = TARGETS.map((t, i) => servingQuery(method, t, i));
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    sent = 0;
    const start = performance.now();
    for (let i = 0; i < QUERIES; i += WINDOW) {
      for (let j = i; j < i + WINDOW; j++) handler(messages[j & 255] as Uint8Array, from);
      // Let handlers that answer through promises finish, as a socket's event loop would: at
      // most WINDOW queries in flight, like the load generator's window.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const us = ((performance.now() - start) * 1000) / QUERIES;
    if (sent !== QUERIES) throw new Error(`${method}: ${sent} replies to ${QUERIES} queries`);
    if (round > 0) best = Math.min(best, us); // round 0 warms up
  }
  process.stdout.write(`${method.padEnd(10)} ${best.toFixed(2)} us\n`);
}
await dht.close();
