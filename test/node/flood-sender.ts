// A flood of valid KRPC queries from many ports of one address, as fast as one sender goes: the
// attacker of flood.test.ts, in its own process so that it does not share the flooded node's
// event loop. Its sockets answer every query they get (a ping from the node verifying them), as
// an attacker who wants into the routing table would.
//
//   node flood-sender.js TARGET_HOST TARGET_PORT SOURCE_HOSTS SOCKETS MAX_DATAGRAMS MAX_MS
//
// SOURCE_HOSTS is one address or a comma-separated list (a /24's worth): sockets are dealt
// round-robin over them.
//
// Prints one JSON line when the flood ends ({ sent, elapsedMs, answered }), keeps answering
// queries, and exits when stdin closes (the parent is gone) or after LINGER_MS.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { decodeKrpc, encodeQuery, encodeResponse } from '../../src/wire/krpc.js';

/** Sends outstanding at once per socket: enough to keep the kernel busy, few enough to stay bounded. */
const WINDOW_PER_SOCKET = 32;
/** Pre-encoded queries per socket, reused in turn. */
const TEMPLATES = 64;
const LINGER_MS = 30_000;

const [
  host = '127.0.0.1',
  portText = '0',
  source = '127.0.0.3',
  socketsText = '64',
  maxText = '200000',
  msText = '5000',
] = process.argv.slice(2);
const port = Number(portText);
const maxDatagrams = Number(maxText);
const maxMs = Number(msText);

let sent = 0;
let answered = 0;
let stopped = false;
const started = performance.now();

const sources = source.split(',');

function bind(_: unknown, i: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, sources[i % sources.length], () => resolve(socket));
  });
}

function templates(id: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < TEMPLATES; i++) {
    const t = new Uint8Array([i, 0x66]);
    const kind = i % 3;
    out.push(
      kind === 0
        ? encodeQuery(t, 'find_node', { id, target: randomBytes(20) })
        : kind === 1
          ? encodeQuery(t, 'get_peers', { id, info_hash: randomBytes(20) })
          : encodeQuery(t, 'ping', { id }),
    );
  }
  return out;
}

function pump(socket: Socket, queries: Uint8Array[], done: () => void): void {
  let outstanding = 0;
  let next = 0;
  const fill = (): void => {
    while (!stopped && outstanding < WINDOW_PER_SOCKET) {
      if (sent >= maxDatagrams || performance.now() - started >= maxMs) {
        stopped = true;
        break;
      }
      outstanding++;
      sent++;
      socket.send(queries[next++ % queries.length] as Uint8Array, port, host, () => {
        outstanding--;
        fill();
      });
    }
    if (stopped && outstanding === 0) done();
  };
  fill();
}

const sockets = await Promise.all(Array.from({ length: Number(socketsText) }, bind));
let running = sockets.length;
const finished = new Promise<void>((resolve) => {
  for (const socket of sockets) {
    const id = randomBytes(20);
    socket.on('message', (data, from) => {
      const m = decodeKrpc(data);
      if (!m.ok || m.message.y !== 'q') return;
      answered++;
      socket.send(encodeResponse(m.message.t, { id }), from.port, from.address);
    });
    pump(socket, templates(id), () => {
      if (--running === 0) resolve();
    });
  }
});
await finished;
const elapsedMs = Math.round(performance.now() - started);
process.stdout.write(`${JSON.stringify({ sent, elapsedMs, answered })}\n`);
const linger = setTimeout(() => process.exit(0), LINGER_MS);
process.stdin.on('end', () => {
  clearTimeout(linger);
  for (const s of sockets) s.close();
  process.exit(0);
});
process.stdin.resume();
