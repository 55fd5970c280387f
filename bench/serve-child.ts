/**
 * A query server for the serving benchmark, run as its own process: kadmium, bittorrent-dht, or a
 * raw dgram echo, or a kadmium router (bench/router.ts), on 127.0.0.1. The DHT servers get a full routing table of fake contacts on
 * loopback addresses (127.x.y.z, where nobody listens), so nothing ever leaves the machine.
 * Prints {"port": N} on stdout when ready; exits when stdin closes.
 */
import { createSocket } from 'node:dgram';
import DHT from 'bittorrent-dht';
import { Dht } from '../src/node/dht.js';
import { Router } from '../src/node/router.js';
import { fillRouter, ROUTER_BENCH } from './router-fixture.js';
import { fakeContacts } from './serving-fixture.js';

const kind = process.argv[2];
async function main(): Promise<number> {
  if (kind === 'echo') {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return socket.address().port;
  }
  if (kind === 'kadmium') {
    const dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap: false });
    await dht.listen();
    for (const c of fakeContacts()) {
      dht.table.observe(
        { id: c.id as never, address: { host: c.host, port: c.port, family: 4 } },
        true,
        Date.now(),
      );
    }
    process.stderr.write(`kadmium table: ${dht.table.size} nodes\n`);
    return dht.address.port;
  }
  if (kind === 'router') {
    const router = new Router({ host: '127.0.0.1', port: 0, ...ROUTER_BENCH });
    await router.listen();
    fillRouter(router.table, ROUTER_BENCH.contacts, Date.now());
    process.stderr.write(`router table: ${router.table.size} nodes\n`);
    return router.address.port;
  }
  if (kind === 'bittorrent-dht') {
    const dht = new DHT({ bootstrap: false });
    await new Promise<void>((resolve) => dht.listen(0, '127.0.0.1', () => resolve()));
    for (const c of fakeContacts()) {
      dht.addNode({ host: c.host, port: c.port, id: Buffer.from(c.id) });
    }
    process.stderr.write(`bittorrent-dht table: ${dht.nodes.count()} nodes\n`);
    return dht.address().port;
  }
  throw new Error(`unknown server kind ${kind}`);
}

main().then(
  (port) => {
    process.stdout.write(`${JSON.stringify({ port })}\n`);
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
