/**
 * The overlay's secure channel (src/transport/stream): handshake cost, per-record seal+open cost,
 * echo throughput over one loopback TCP connection beside a raw TCP echo of the same frames, and
 * memory per open connection.
 *
 * Run alone: `node --expose-gc dist/bench/channel.js` (without --expose-gc the memory row is
 * noisier). The bench runner imports `runChannel` (`npm run bench -- --only channel`).
 */
import { type Server, type Socket, connect as netConnect, createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type Aead, nobleAead, opensslAead } from '../src/transport/stream/aead.js';
import { secureInitiator, secureResponder } from '../src/transport/stream/channel.js';
import type { SecureConnection } from '../src/transport/stream/connection.js';
import { memoryDuplexPair } from '../src/transport/stream/duplex-pair.js';
import { FrameReader, encodeFrame } from '../src/transport/stream/framing.js';
import { RecordKind, RecordOpener, RecordSealer } from '../src/transport/stream/record.js';
import { TcpStreamTransport } from '../src/transport/stream/tcp.js';
import type { ChannelIdentity, Connection, VerifyDigest } from '../src/transport/stream/types.js';
import { bytesEqual } from '../src/util/bytes.js';
import { num, ratio, table } from './format.js';

function identity(): ChannelIdentity {
  const secretKey = secp256k1.utils.randomSecretKey();
  return {
    publicKey: secp256k1.getPublicKey(secretKey, true),
    puzzle: new Uint8Array(32),
    signDigest(digest) {
      const rec = secp256k1.sign(digest, secretKey, { prehash: false, format: 'recovered' });
      return Uint8Array.of(...rec.subarray(1), rec[0] as number);
    },
  };
}

const verify: VerifyDigest = (publicKey, digest, signature) => {
  if (signature.length !== 65 || (signature[64] as number) >= 4 || (signature[32] as number) >> 7 === 1)
    return false;
  try {
    const rec = Uint8Array.of(signature[64] as number, ...signature.subarray(0, 64));
    return bytesEqual(secp256k1.recoverPublicKey(rec, digest, { prehash: false }), publicKey);
  } catch {
    return false;
  }
};

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export interface ChannelBenchResults {
  handshake: { count: number; msEach: number; perSec: number; tcpMsEach: number };
  records: Array<{ bytes: number; usOpenssl: number; usNoble: number }>;
  throughput: Array<{ bytes: number; secureFramesPerSec: number; rawFramesPerSec: number; ratio: number }>;
  memory: { connections: number; bytesPerConnectionEnd: number; gc: boolean };
}

async function benchHandshakes(count: number): Promise<{ msEach: number; perSec: number }> {
  const a = identity();
  const b = identity();
  const once = async (): Promise<void> => {
    const [x, y] = memoryDuplexPair();
    const [ci, cr] = await Promise.all([
      secureInitiator(x, { identity: a, verify, expectedPublicKey: b.publicKey }),
      secureResponder(y, { identity: b, verify }),
    ]);
    ci.close();
    cr.close();
  };
  for (let i = 0; i < 20; i++) await once();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await once();
  const s = seconds(start);
  return { msEach: (s * 1000) / count, perSec: count / s };
}

async function benchTcpHandshakes(count: number): Promise<number> {
  const server = await TcpStreamTransport.listen({ identity: identity(), verify });
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const socket = netConnect({ host: '127.0.0.1', port: server.address.port, noDelay: true });
    const conn = await secureInitiator(socket, {
      identity: identity(),
      verify,
      expectedPublicKey: server.publicKey,
    });
    conn.close();
  }
  const s = seconds(start);
  await server.close();
  return (s * 1000) / count;
}

function benchRecords(bytes: number, count: number): { usOpenssl: number; usNoble: number } {
  const key = new Uint8Array(32).fill(7);
  const body = new Uint8Array(bytes).fill(1);
  const run = (aead: Aead): number => {
    const sealer = new RecordSealer(key, 2 ** 48, aead);
    const opener = new RecordOpener(key, 2 ** 48, aead);
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const frame = sealer.seal(RecordKind.Data, body) as Uint8Array;
      if (!opener.open(frame.subarray(4))) throw new Error('bench record failed to open');
    }
    return (seconds(start) * 1e6) / count;
  };
  run(opensslAead);
  run(nobleAead);
  return { usOpenssl: run(opensslAead), usNoble: run(nobleAead) };
}

/** Echo `count` frames of `bytes` over one connection, at most `window` outstanding; frames/s. */
async function echoSecure(bytes: number, count: number, window: number): Promise<number> {
  const serverId = identity();
  // The echo side never refuses: the client's window (256 frames) bounds what it can queue.
  const server = await TcpStreamTransport.listen({ identity: serverId, verify, sendQueueBytes: 16 << 20 });
  server.onConnection((conn) =>
    conn.onBody((body) => {
      if (!conn.send(body)) throw new Error('bench echo refused a frame');
    }),
  );
  const client = await TcpStreamTransport.listen({ identity: identity(), verify });
  const conn = await client.connect(server.address, serverId.publicKey);
  const rate = await drive(
    bytes,
    count,
    window,
    (b) => conn.send(b),
    (cb) => conn.onBody(cb),
    (cb) => conn.onDrain(cb),
  );
  await client.close();
  await server.close();
  return rate;
}

/**
 * Writes that leave in one syscall per tick, as the secure channel's records do: without it the
 * raw baseline would pay a syscall per frame and the ratio would flatter the channel.
 */
function corkedWriter(socket: Socket): (bytes: Uint8Array) => void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return (bytes) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    socket.write(bytes);
  };
}

async function echoRaw(bytes: number, count: number, window: number): Promise<number> {
  const server: Server = createServer({ noDelay: true }, (socket) => {
    const write = corkedWriter(socket);
    const reader = new FrameReader(
      (frame) => write(encodeFrame(frame)),
      () => socket.destroy(),
    );
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const socket: Socket = netConnect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let onFrame: (b: Uint8Array) => void = () => {};
  const reader = new FrameReader(
    (f) => onFrame(f),
    () => {},
  );
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  const clientWrite = corkedWriter(socket);
  const drainCbs: Array<() => void> = [];
  socket.on('drain', () => drainCbs.forEach((cb) => cb()));
  const rate = await drive(
    bytes,
    count,
    window,
    (b) => {
      if (socket.writableLength >= 256 * 1024) return false;
      clientWrite(encodeFrame(b));
      return true;
    },
    (cb) => (onFrame = cb),
    (cb) => drainCbs.push(cb),
  );
  socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return rate;
}

function drive(
  bytes: number,
  count: number,
  window: number,
  send: (b: Uint8Array) => boolean,
  onBody: (cb: (b: Uint8Array) => void) => void,
  onDrain: (cb: () => void) => void,
): Promise<number> {
  const body = new Uint8Array(bytes).fill(3);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    let blocked = false;
    const start = process.hrtime.bigint();
    const limit = setTimeout(() => reject(new Error(`echo stalled at ${received}/${count}`)), 60_000);
    const pump = (): void => {
      while (!blocked && sent < count && sent - received < window) {
        if (send(body)) sent++;
        else blocked = true;
      }
    };
    onDrain(() => {
      blocked = false;
      pump();
    });
    onBody(() => {
      received++;
      if (received === count) {
        clearTimeout(limit);
        resolve(count / seconds(start));
      } else pump();
    });
    pump();
  });
}

async function benchMemory(count: number): Promise<{ bytesPerConnectionEnd: number; gc: boolean }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const server = await TcpStreamTransport.listen({
    identity: identity(),
    verify,
    maxConnections: count + 10,
  });
  const clients = Array.from({ length: count }, () => identity());
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    const m = process.memoryUsage();
    return m.heapUsed + m.external + m.arrayBuffers;
  };
  const before = await settle();
  const conns: Connection[] = [];
  for (const id of clients) {
    const socket = netConnect({ host: '127.0.0.1', port: server.address.port, noDelay: true });
    const conn: SecureConnection = await secureInitiator(socket, {
      identity: id,
      verify,
      expectedPublicKey: server.publicKey,
    });
    conn.onBody(() => {});
    conns.push(conn);
  }
  const after = await settle();
  for (const c of conns) c.close();
  await server.close();
  // Both ends of each connection live in this process.
  return { bytesPerConnectionEnd: (after - before) / (2 * count), gc: gc !== undefined };
}

export async function runChannel(): Promise<{ results: ChannelBenchResults; text: string }> {
  const log = (what: string): void => {
    if (process.env.BENCH_VERBOSE) process.stderr.write(`channel: ${what}\n`);
  };
  const hs = await benchHandshakes(100);
  log('handshakes');
  const tcpMsEach = await benchTcpHandshakes(50);
  log('tcp handshakes');
  const records = [100, 4096].map((bytes) => ({
    bytes,
    ...benchRecords(bytes, bytes > 1000 ? 5_000 : 20_000),
  }));
  const throughput = [];
  for (const bytes of [100, 4096]) {
    const count = bytes > 1000 ? 10_000 : 30_000;
    // Alternate, best of two each, to damp a shared machine's noise.
    const secure = Math.max(await echoSecure(bytes, count, 256), await echoSecure(bytes, count, 256));
    const raw = Math.max(await echoRaw(bytes, count, 256), await echoRaw(bytes, count, 256));
    log(`echo ${bytes}`);
    throughput.push({ bytes, secureFramesPerSec: secure, rawFramesPerSec: raw, ratio: secure / raw });
  }
  const memory = { connections: 200, ...(await benchMemory(200)) };
  const results: ChannelBenchResults = {
    handshake: { count: 100, msEach: hs.msEach, perSec: hs.perSec, tcpMsEach },
    records,
    throughput,
    memory,
  };
  const text = [
    table([
      ['handshake (both sides in one process)', 'ms each', 'handshakes/s'],
      ['in-memory pair, 100 sequential', num(hs.msEach, 2), num(hs.perSec)],
      ['loopback TCP incl. connect, 50 sequential', num(tcpMsEach, 2), num(1000 / tcpMsEach)],
    ]),
    '',
    table([
      ['record seal + open (ChaCha20-Poly1305)', 'us, node:crypto (used)', 'us, @noble/ciphers (fallback)'],
      ...records.map((r) => [`${r.bytes} B`, num(r.usOpenssl, 2), num(r.usNoble, 2)]),
    ]),
    '',
    table([
      [
        'echo over one loopback TCP connection, 256 in flight',
        'secure frames/s',
        'raw TCP frames/s',
        'secure / raw',
      ],
      ...throughput.map((t) => [
        `${t.bytes} B`,
        num(t.secureFramesPerSec),
        num(t.rawFramesPerSec),
        ratio(t.secureFramesPerSec, t.rawFramesPerSec),
      ]),
    ]),
    '',
    `memory per open connection end (${memory.connections} connections, heap + external + array buffers${
      memory.gc ? ', after gc' : ', no --expose-gc'
    }): ${num(memory.bytesPerConnectionEnd / 1024, 1)} KiB`,
  ].join('\n');
  return { results, text };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runChannel().then(
    ({ text }) => console.log(text),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
