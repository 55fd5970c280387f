/**
 * The overlay's serving rate: Ping and FindNode RPCs per second that one overlay node answers over
 * pooled, encrypted loopback TCP connections, beside a raw TCP server that answers the same
 * frames (same request and reply sizes, same pipelining) without encryption or JSON, and beside
 * `dht-rpc` (UDP) on the same machine when it is installed. Then memory per idle node and per
 * open connection.
 *
 * Run alone: `node dist/bench/overlay-rpc.js [seconds per row] [idle nodes]`; in the
 * runner: `npm run bench -- --only overlay-rpc`. Clients and servers share this process, as in
 * bench/channel.ts: the rates include the clients' cost on both sides of each ratio. Each row is
 * also counted per second of this process's CPU time: on a shared machine other processes take
 * wall-clock seconds unevenly between rows, but not CPU seconds.
 */
import { type Server, type Socket, connect as netConnect, createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OverlayNode } from '../src/node/overlay-node.js';
import { listenOverlay } from '../src/node/overlay-tcp.js';
import { OverlayIdentity, overlayIdOf, verifyDigest } from '../src/protocols/overlay/identity.js';
import { asNodeId } from '../src/kademlia/id.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  OverlayTag,
} from '../src/protocols/overlay/messages.js';
import { decodeCanonicalRequest, provenSender } from '../src/protocols/overlay/canonical-request.js';
import { PeerJsonCache } from '../src/protocols/overlay/peer-json.js';
import { RemoteRpcError, StreamRpc } from '../src/rpc/stream-rpc.js';
import { VirtualClock } from '../src/sim/virtual-clock.js';
import { makeAddress } from '../src/transport/address.js';
import { BATCH_RECORD_BYTES } from '../src/transport/stream/connection.js';
import {
  encodeFrame as lengthPrefixed,
  FrameReader,
  LENGTH_PREFIX_BYTES,
} from '../src/transport/stream/framing.js';
import { MemoryStreamNetwork, type MemoryStreamTransport } from '../src/transport/stream/memory.js';
import { BATCH_LENGTH_BYTES, RecordOpener, RecordSealer } from '../src/transport/stream/record.js';
import { TcpStreamTransport } from '../src/transport/stream/tcp.js';
import type { Connection } from '../src/transport/stream/types.js';
import { systemClock } from '../src/util/clock.js';
import { SeededRandom } from '../src/util/random.js';
import { encodeFrame } from '../src/wire/frames.js';
import { num, ratio, table } from './format.js';

/** Client connections to the node, each with this many requests kept in flight. */
const CONNECTIONS = 8;
const IN_FLIGHT_PER_CONNECTION = 32;
/** Contacts offered to the serving node's table (it keeps what its buckets hold). */
const TABLE_OFFERED = 2_000;
/** Distinct FindNode targets the clients cycle through. */
const TARGETS = 256;
/** Connections opened for the per-connection memory row. */
const MEMORY_CONNECTIONS = 100;
/** Custom dht-rpc command for the same-size request (user commands start at 16 there). */
const DHT_RPC_COMMAND = 16;

type Method = 'ping' | 'find_node';

export interface OverlayRpcRow {
  method: Method;
  overlay: Rate;
  raw: Rate;
  dhtRpc: Rate | undefined;
  requestBytes: number;
  replyBytes: number;
  busy: number;
}

export interface OverlayRpcResults {
  rows: OverlayRpcRow[];
  /** Server-side CPU per request outside the channel, µs: decode the request, encode the reply. */
  costs: Array<{ step: string; us: number }>;
  tableSize: number;
  dhtRpc: string;
  memory: {
    idleNodes: number;
    heapPerNodeBytes: number;
    contactsPerNode: number;
    connectionsPerNode: number;
    connections: number;
    bytesPerConnection: number;
  };
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls per second of wall time, and per second of this process's CPU time. */
export interface Rate {
  wall: number;
  /** Steady on a shared machine, where other processes take the wall time's seconds. */
  cpu: number;
}

/** The better of two runs of a row, each figure on its own. */
function best(a: Rate, b: Rate): Rate {
  return { wall: Math.max(a.wall, b.wall), cpu: Math.max(a.cpu, b.cpu) };
}

/** Run `slots` loops of `call` until `durationMs` passes: completed calls per second. */
async function saturate(
  slots: number,
  durationMs: number,
  call: (slot: number) => Promise<void>,
): Promise<Rate> {
  let done = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const endAt = start + BigInt(durationMs) * 1_000_000n;
  await Promise.all(
    Array.from({ length: slots }, async (_, slot) => {
      while (process.hrtime.bigint() < endAt) {
        await call(slot);
        done++;
      }
    }),
  );
  const wall = seconds(start);
  const cpu = process.cpuUsage(cpuStart);
  return { wall: done / wall, cpu: done / ((cpu.user + cpu.system) / 1e6) };
}

export interface Fixture {
  node: OverlayNode;
  requests: Record<Method, Uint8Array[]>;
  replies: Record<Method, Uint8Array>;
  clients: { transport: TcpStreamTransport; conn: Connection; rpc: StreamRpc }[];
}

export async function overlayFixture(): Promise<Fixture> {
  const random = new SeededRandom(12);
  const node = await listenOverlay({
    identity: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }),
    bootstrap: [],
    idleCloseMs: 0,
  });
  // A realistic table: random ids, as many as the buckets keep of TABLE_OFFERED.
  const now = Date.now();
  OverlayIdentity.simulatedBatch(TABLE_OFFERED, random).forEach((id, i) => {
    const address = makeAddress(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 7000);
    node.table.observe({ id: id.id, address, key: id.publicKey }, true, now);
  });
  const clients: Fixture['clients'] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
    const transport = await TcpStreamTransport.listen({ identity, verify: verifyDigest, idleCloseMs: 0 });
    const conn = await transport.connect(node.address, node.publicKey);
    const rpc = new StreamRpc({ clock: systemClock, timeoutMs: 30_000 });
    rpc.attach(conn);
    clients.push({ transport, conn, rpc });
  }
  const sender = clients[0] as Fixture['clients'][number];
  const senderFields = (i: number) => {
    const c = clients[i % clients.length] as Fixture['clients'][number];
    return { senderId: overlayIdOf(c.transport.publicKey), senderPk: c.transport.publicKey };
  };
  // Each client sends as itself (the node refuses a sender that is not the connection's key).
  const requests: Record<Method, Uint8Array[]> = {
    ping: clients.map((_, i) => encodeRequest({ method: 'ping', ...senderFields(i) })),
    find_node: Array.from({ length: TARGETS * CONNECTIONS }, (_, i) =>
      encodeRequest({
        method: 'find_node',
        ...senderFields(i % CONNECTIONS),
        target: asNodeId(random.bytes(32)),
      }),
    ),
  };
  const replies = {
    ping: await sender.rpc.request(sender.conn, OverlayTag.ping, requests.ping[0] as Uint8Array),
    find_node: await sender.rpc.request(
      sender.conn,
      OverlayTag.find_node,
      requests.find_node[0] as Uint8Array,
    ),
  };
  return { node, requests, replies, clients };
}

export async function benchOverlay(f: Fixture, method: Method, durationMs: number) {
  let busy = 0;
  const tag = OverlayTag[method];
  const counters = new Array<number>(CONNECTIONS).fill(0);
  const rate = await saturate(CONNECTIONS * IN_FLIGHT_PER_CONNECTION, durationMs, async (slot) => {
    const c = slot % CONNECTIONS;
    const client = f.clients[c] as Fixture['clients'][number];
    const n = (counters[c] = (counters[c] as number) + 1);
    const body =
      method === 'ping'
        ? (f.requests.ping[c] as Uint8Array)
        : (f.requests.find_node[c + CONNECTIONS * (n % TARGETS)] as Uint8Array);
    for (;;) {
      try {
        await client.rpc.request(client.conn, tag, body);
        return;
      } catch (err) {
        if (!(err instanceof RemoteRpcError) || err.remoteCode !== 'BUSY') throw err;
        busy++;
      }
    }
  });
  return { rate, busy };
}

/** A raw TCP server answering each `[len][tag][id][json]` frame with a same-size reply frame. */
async function rawServer(replies: Record<number, Uint8Array>): Promise<Server> {
  const server = createServer({ noDelay: true }, (socket) => {
    const write = corkedWriter(socket);
    const reader = new FrameReader(
      (frame) => {
        const reply = (replies[frame[0] as number] as Uint8Array).slice();
        reply.set(frame.subarray(1, 5), 1);
        write(lengthPrefixed(reply));
      },
      () => socket.destroy(),
    );
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** One syscall per tick, as the secure channel's records go (bench/channel.ts explains why). */
function corkedWriter(socket: Socket): (bytes: Uint8Array) => void {
  let corked = false;
  return (bytes) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
  };
}

export async function benchRaw(f: Fixture, method: Method, durationMs: number): Promise<Rate> {
  const tag = OverlayTag[method];
  const server = await rawServer({ [tag]: encodeFrame('response', tag, 0, f.replies[method]) });
  const port = (server.address() as { port: number }).port;
  const links = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const socket = netConnect({ host: '127.0.0.1', port, noDelay: true });
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      const waiting = new Map<number, () => void>();
      const reader = new FrameReader(
        (frame) => {
          const id = ((frame[1] as number) << 24) | ((frame[2] as number) << 16);
          const key = (id | ((frame[3] as number) << 8) | (frame[4] as number)) >>> 0;
          waiting.get(key)?.();
          waiting.delete(key);
        },
        () => socket.destroy(),
      );
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      return { socket, write: corkedWriter(socket), waiting, nextId: 1, count: 0 };
    }),
  );
  const rate = await saturate(CONNECTIONS * IN_FLIGHT_PER_CONNECTION, durationMs, (slot) => {
    const link = links[slot % CONNECTIONS] as (typeof links)[number];
    const c = slot % CONNECTIONS;
    link.count++;
    const json =
      method === 'ping'
        ? (f.requests.ping[c] as Uint8Array)
        : (f.requests.find_node[c + CONNECTIONS * (link.count % TARGETS)] as Uint8Array);
    const id = link.nextId++;
    return new Promise<void>((resolve) => {
      link.waiting.set(id, resolve);
      link.write(lengthPrefixed(encodeFrame('request', tag, id, json)));
    });
  });
  for (const link of links) link.socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return rate;
}

interface DhtRpcNode {
  ready(): Promise<void>;
  address(): { host: string; port: number };
  on(event: 'request', cb: (req: { command: number; reply(value: Uint8Array | null): void }) => void): void;
  request(
    q: { command: number; value?: Uint8Array | null },
    to: { host: string; port: number },
    opts?: { retry?: boolean },
  ): Promise<unknown>;
  ping(to: { host: string; port: number }, opts?: { retry?: boolean }): Promise<unknown>;
  destroy(): Promise<void>;
}
type DhtRpcClass = new (opts: Record<string, unknown>) => DhtRpcNode;

async function loadDhtRpc(): Promise<DhtRpcClass | string> {
  const name = 'dht-rpc';
  try {
    const mod = (await import(name)) as { default: DhtRpcClass };
    return mod.default;
  } catch (err) {
    return `dht-rpc is not installed here (${(err as Error).message.split('\n')[0]})`;
  }
}

/**
 * dht-rpc's rate on this machine: its Ping, and a user command shaped like its FIND_NODE (a
 * 32-byte target in, 20 closer nodes out as 6-byte compact IPv4 addresses, 120 bytes). Its UDP
 * datagrams cannot carry FindNode's 5 KiB JSON reply, and its closer nodes carry no keys or ids.
 */
async function benchDhtRpc(DHT: DhtRpcClass, method: Method, durationMs: number) {
  const server = new DHT({ bootstrap: [], ephemeral: false, firewalled: false, host: '127.0.0.1' });
  await server.ready();
  const reply = new Uint8Array(20 * 6).fill(7);
  server.on('request', (req) => {
    if (req.command === DHT_RPC_COMMAND) req.reply(reply);
  });
  const to = { host: '127.0.0.1', port: server.address().port };
  const clients: DhtRpcNode[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const c = new DHT({ bootstrap: [], ephemeral: true, host: '127.0.0.1' });
    await c.ready();
    clients.push(c);
  }
  const value = new Uint8Array(32).fill(9);
  let lost = 0;
  const rate = await saturate(CONNECTIONS * IN_FLIGHT_PER_CONNECTION, durationMs, async (slot) => {
    const c = clients[slot % CONNECTIONS] as DhtRpcNode;
    try {
      if (method === 'ping') await c.ping(to, { retry: false });
      else await c.request({ command: DHT_RPC_COMMAND, value }, to, { retry: false });
    } catch {
      lost++;
    }
  });
  await Promise.all([...clients, server].map((n) => n.destroy()));
  return { rate, lost };
}

/** The runner does not pass --expose-gc; V8 lets a running process turn it on. */
function gcFunction(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** µs per call of `fn`, after a warm-up of a tenth as many. */
function perCall(count: number, fn: () => unknown): number {
  for (let i = 0; i < count / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn();
  return (seconds(start) * 1e6) / count;
}

/**
 * CPU of the channel's AEAD per call: the request sealed and opened, the reply sealed and opened,
 * each as its share of a Batch record packed as the channel packs a tick's bodies (a connection's
 * requests together, replies up to BATCH_RECORD_BYTES).
 */
function aeadPerCall(f: Fixture, method: Method): number {
  const tag = OverlayTag[method];
  const request = encodeFrame('request', tag, 1, f.requests[method][0] as Uint8Array);
  const reply = encodeFrame('response', tag, 1, f.replies[method]);
  const key = new Uint8Array(32).fill(5);
  const sealer = new RecordSealer(key);
  const opener = new RecordOpener(key);
  const through = (body: Uint8Array, perRecord: number): void => {
    const frame = sealer.sealBatch(new Array<Uint8Array>(perRecord).fill(body)) as Uint8Array;
    if (!opener.open(frame.subarray(LENGTH_PREFIX_BYTES))) throw new Error('the bench AEAD did not open');
  };
  const repliesPerRecord = Math.max(
    1,
    Math.min(IN_FLIGHT_PER_CONNECTION, Math.floor(BATCH_RECORD_BYTES / (reply.length + BATCH_LENGTH_BYTES))),
  );
  const requestUs = perCall(500, () => through(request, IN_FLIGHT_PER_CONNECTION));
  const replyUs = perCall(500, () => through(reply, repliesPerRecord));
  return requestUs / IN_FLIGHT_PER_CONNECTION + replyUs / repliesPerRecord;
}

/** Where a request's server time goes apart from the channel and the RPC layer. */
function serverCosts(f: Fixture): Array<{ step: string; us: number }> {
  const ping = f.requests.ping[0] as Uint8Array;
  const findNode = f.requests.find_node[0] as Uint8Array;
  const pingReply = decodeResponse(OverlayTag.ping, f.replies.ping);
  const findReply = decodeResponse(OverlayTag.find_node, f.replies.find_node);
  if (!pingReply.ok || !findReply.ok) throw new Error('the bench could not decode its own sample replies');
  const target = new Uint8Array(32).fill(3);
  const plain: unknown = JSON.parse(new TextDecoder().decode(f.replies.find_node));
  const client = f.clients[0] as Fixture['clients'][number];
  const sender = provenSender(overlayIdOf(client.transport.publicKey), client.transport.publicKey);
  const cache = new PeerJsonCache();
  return [
    { step: 'AEAD per Ping: request and reply, each sealed and opened', us: aeadPerCall(f, 'ping') },
    { step: 'AEAD per FindNode: request and reply, each sealed and opened', us: aeadPerCall(f, 'find_node') },
    {
      step: 'Ping request, canonical match (the server path)',
      us: perCall(20_000, () => decodeCanonicalRequest(OverlayTag.ping, ping, sender)),
    },
    {
      step: '  total decoder (other encodings)',
      us: perCall(20_000, () => decodeRequest(OverlayTag.ping, ping)),
    },
    {
      step: 'encode Ping reply (the server encodes it once)',
      us: perCall(20_000, () => encodeResponse(pingReply.message)),
    },
    {
      step: 'FindNode request, canonical match (the server path)',
      us: perCall(20_000, () => decodeCanonicalRequest(OverlayTag.find_node, findNode, sender)),
    },
    {
      step: '  total decoder (other encodings)',
      us: perCall(20_000, () => decodeRequest(OverlayTag.find_node, findNode)),
    },
    {
      step: '20 closest of the table, copied out',
      us: perCall(5_000, () => f.node.table.closest(target, 20, { answered: true })),
    },
    {
      step: 'FindNode reply from the table memo (the server path)',
      us: perCall(5_000, () =>
        cache.closestReply((make, memo) =>
          f.node.table.closestMapped(target, 20, { answered: true }, make, memo),
        ),
      ),
    },
    {
      step: '  encodeResponse of the same 20 peers',
      us: perCall(2_000, () => encodeResponse(findReply.message)),
    },
    {
      step: '  JSON.stringify of the same shape',
      us: perCall(2_000, () => JSON.stringify(plain)),
    },
    {
      step: 'client: decode a FindNode reply (total decoder)',
      us: perCall(2_000, () => decodeResponse(OverlayTag.find_node, f.replies.find_node)),
    },
    {
      step: '  JSON.parse of the same bytes',
      us: perCall(2_000, () => JSON.parse(new TextDecoder().decode(f.replies.find_node))),
    },
  ];
}

async function settledHeap(): Promise<number> {
  const gc = gcFunction();
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

async function settledTotal(): Promise<number> {
  await settledHeap();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

/**
 * Idle nodes of a joined network, without sockets (in-memory streams, virtual time): what a node
 * itself holds (table, store, RPC state, its pooled connections' state) apart from the kernel
 * sockets and TLS-free channel buffers that the per-connection row measures.
 */
async function idleNodeHeap(
  count: number,
): Promise<{ heapPerNodeBytes: number; contacts: number; connections: number }> {
  const clock = new VirtualClock(1_700_000_000_000);
  const random = new SeededRandom(7);
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => 5 });
  const identities = OverlayIdentity.simulatedBatch(count, random);
  const before = await settledHeap();
  const nodes: OverlayNode[] = [];
  const transports: MemoryStreamTransport[] = [];
  for (let i = 0; i < count; i++) {
    const identity = identities[i] as OverlayIdentity;
    const address = makeAddress(`10.1.${i >> 8}.${i & 255}`, 7000);
    const first = nodes[0];
    const transport = net.listen(identity.publicKey, address);
    transports.push(transport);
    const node = new OverlayNode({
      identity,
      transport,
      clock,
      random,
      bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
    });
    nodes.push(node);
    await clock.run(node.start());
  }
  await clock.advance(1_000);
  const after = await settledHeap();
  const contacts = nodes.reduce((n, node) => n + node.table.size, 0) / count;
  const connections = transports.reduce((n, t) => n + t.size, 0) / count;
  await clock.run(Promise.all(nodes.map((n) => n.close())));
  return { heapPerNodeBytes: (after - before) / count, contacts, connections };
}

/** Heap, external and array buffers per open connection, both ends and the RPC state of each. */
async function connectionMemory(node: OverlayNode, count: number): Promise<number> {
  const transports: TcpStreamTransport[] = [];
  for (let i = 0; i < count; i++) {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
    transports.push(await TcpStreamTransport.listen({ identity, verify: verifyDigest, idleCloseMs: 0 }));
  }
  const rpc = new StreamRpc({ clock: systemClock });
  const before = await settledTotal();
  for (const t of transports) rpc.attach(await t.connect(node.address, node.publicKey));
  const after = await settledTotal();
  await Promise.all(transports.map((t) => t.close()));
  return (after - before) / count;
}

export async function runOverlayRpc(
  options: { secondsPerRow?: number; idleNodes?: number } = {},
): Promise<{ results: OverlayRpcResults; text: string }> {
  const durationMs = (options.secondsPerRow ?? 3) * 1000;
  const idleNodes = options.idleNodes ?? 200;
  const log = (what: string): void => {
    if (process.env.BENCH_VERBOSE) process.stderr.write(`overlay-rpc: ${what}\n`);
  };
  const f = await overlayFixture();
  const tableSize = f.node.table.size;
  const dht = await loadDhtRpc();
  const rows: OverlayRpcRow[] = [];
  let dhtRpcNote = typeof dht === 'string' ? dht : 'dht-rpc: UDP, no encryption, its own binary encoding';
  try {
    for (const method of ['ping', 'find_node'] as const) {
      // Alternate, best of two each, to damp a shared machine's noise.
      const a = await benchOverlay(f, method, durationMs);
      const rawA = await benchRaw(f, method, durationMs);
      const b = await benchOverlay(f, method, durationMs);
      const rawB = await benchRaw(f, method, durationMs);
      let dhtRpc: Rate | undefined;
      if (typeof dht !== 'string') {
        const d = await benchDhtRpc(dht, method, durationMs);
        dhtRpc = d.rate;
        if (d.lost > 0) dhtRpcNote += `; ${d.lost} ${method} requests timed out`;
      }
      log(method);
      rows.push({
        method,
        overlay: best(a.rate, b.rate),
        raw: best(rawA, rawB),
        dhtRpc,
        requestBytes: 4 + encodeFrame('request', 1, 0, f.requests[method][0] as Uint8Array).length,
        replyBytes: 4 + encodeFrame('response', 1, 0, f.replies[method]).length,
        busy: a.busy + b.busy,
      });
    }
    const costs = serverCosts(f);
    const bytesPerConnection = await connectionMemory(f.node, MEMORY_CONNECTIONS);
    log('connections');
    const idle = await idleNodeHeap(idleNodes);
    log('idle nodes');
    const results: OverlayRpcResults = {
      rows,
      costs,
      tableSize,
      dhtRpc: dhtRpcNote,
      memory: {
        idleNodes,
        heapPerNodeBytes: idle.heapPerNodeBytes,
        contactsPerNode: idle.contacts,
        connectionsPerNode: idle.connections,
        connections: MEMORY_CONNECTIONS,
        bytesPerConnection,
      },
    };
    return { results, text: format(results, durationMs) };
  } finally {
    await Promise.all(f.clients.map((c) => c.transport.close()));
    await f.node.close();
  }
}

function format(r: OverlayRpcResults, durationMs: number): string {
  const inFlight = CONNECTIONS * IN_FLIGHT_PER_CONNECTION;
  return [
    table([
      [
        `RPCs/s, ${CONNECTIONS} connections x ${IN_FLIGHT_PER_CONNECTION} in flight, best of 2 x ${durationMs / 1000} s`,
        'overlay node',
        'raw TCP, same frames',
        'overlay / raw',
        'overlay / raw per CPU-s',
        'dht-rpc (UDP)',
        'overlay / dht-rpc per CPU-s',
        'request / reply bytes',
      ],
      ...r.rows.map((row) => [
        row.method === 'ping' ? 'Ping' : `FindNode (table of ${r.tableSize}, 20 closest)`,
        num(row.overlay.wall),
        num(row.raw.wall),
        ratio(row.overlay.wall, row.raw.wall),
        ratio(row.overlay.cpu, row.raw.cpu),
        row.dhtRpc === undefined ? '-' : num(row.dhtRpc.wall),
        row.dhtRpc === undefined ? '-' : ratio(row.overlay.cpu, row.dhtRpc.cpu),
        `${row.requestBytes} / ${row.replyBytes}`,
      ]),
    ]),
    '',
    ...r.rows.map((row) => {
      const name = row.method === 'ping' ? 'Ping' : 'FindNode';
      const overlayUs = 1e6 / row.overlay.cpu;
      const rawUs = 1e6 / row.raw.cpu;
      const aead = r.costs.find((c) => c.step.startsWith(`AEAD per ${name}:`))?.us ?? 0;
      return `${name}: ${num(overlayUs, 1)} µs of CPU per call through the overlay, ${num(rawUs, 1)} µs raw; the AEAD's ${num(aead, 1)} µs of it aside, ${ratio(1e6 / (overlayUs - aead), 1e6 / rawUs)} raw`;
    }),
    '',
    table([['CPU per call, by step', 'µs'], ...r.costs.map((c) => [c.step, num(c.us, 1)])]),
    '',
    `busy replies during the overlay rows: ${r.rows.map((x) => `${x.method} ${x.busy}`).join(', ')} (${inFlight} in flight against MAX_HANDLERS 256)`,
    `dht-rpc: ${r.dhtRpc}`,
    `memory per idle node (${r.memory.idleNodes} joined nodes on in-memory streams, heap after gc): ${num(
      r.memory.heapPerNodeBytes / 1024,
      1,
    )} KiB (${num(r.memory.contactsPerNode, 1)} contacts and ${num(
      r.memory.connectionsPerNode,
      1,
    )} pooled in-memory connections each)`,
    `memory per open connection (${r.memory.connections} loopback TCP connections to one node, both ends with RPC state, heap + external + array buffers): ${num(
      r.memory.bytesPerConnection / 1024,
      1,
    )} KiB`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const secondsPerRow = Number(process.argv[2] ?? 3);
  const idleNodes = Number(process.argv[3] ?? 200);
  runOverlayRpc({ secondsPerRow, idleNodes }).then(
    ({ text }) => {
      console.log(text);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
