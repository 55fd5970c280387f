/**
 * A query server for the serving benchmark, run as its own process: kadmium, bittorrent-dht, or a
 * raw dgram echo, on 127.0.0.1. The DHT servers get a full routing table of fake contacts on
 * loopback addresses (127.x.y.z, where nobody listens), so nothing ever leaves the machine.
 * Prints {"port": N} on stdout when ready; exits when stdin closes.
 */
import { createSocket } from 'node:dgram';
import DHT from 'bittorrent-dht';
import { Dht } from '../src/node/dht.js';
import { SeededRandom } from '../src/util/random.js';

const kind = process.argv[2];
const random = new SeededRandom(99);
/** Contacts offered to the table; enough to fill every bucket the table can hold. */
const CONTACTS = 5_000;

function fakeContact(i: number): { id: Uint8Array; host: string; port: number } {
  return {
    id: random.bytes(20),
    host: `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    port: 1 + (i % 60_000),
  };
}

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
    for (let i = 0; i < CONTACTS; i++) {
      const c = fakeContact(i);
      dht.table.observe(
        { id: c.id as never, address: { host: c.host, port: c.port, family: 4 } },
        true,
        Date.now(),
      );
    }
    process.stderr.write(`kadmium table: ${dht.table.size} nodes\n`);
    return dht.address.port;
  }
  if (kind === 'bittorrent-dht') {
    const dht = new DHT({ bootstrap: false });
    await new Promise<void>((resolve) => dht.listen(0, '127.0.0.1', () => resolve()));
    for (let i = 0; i < CONTACTS; i++) {
      const c = fakeContact(i);
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
