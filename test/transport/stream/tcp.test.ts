import assert from 'node:assert/strict';
import { type AddressInfo, connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  type StreamTransportEvent,
  TcpStreamTransport,
  type TcpStreamTransportOptions,
} from '../../../src/transport/stream/tcp.js';
import type { SecureConnection } from '../../../src/transport/stream/connection.js';
import type { Connection } from '../../../src/transport/stream/types.js';
import { bytesEqual } from '../../../src/util/bytes.js';
import { type TestIdentity, orderedPair, testIdentity, verifyDigest } from './fixture.js';

const open: TcpStreamTransport[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  await Promise.all(open.map((t) => t.close()));
});

async function transport(
  identity: TestIdentity,
  options: Partial<TcpStreamTransportOptions> = {},
): Promise<{ t: TcpStreamTransport; events: StreamTransportEvent[] }> {
  const events: StreamTransportEvent[] = [];
  const t = await TcpStreamTransport.listen({
    identity,
    verify: verifyDigest,
    onEvent: (e) => events.push(e),
    ...options,
  });
  open.push(t);
  return { t, events };
}

function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() - start > ms) reject(new Error(`condition not met within ${ms} ms`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A TCP relay to `target` that can cut its far side only: the far end sees the connection close
 * while the near end's socket stays open and silent, a half-open connection as a NAT timeout makes.
 */
async function halfOpenRelay(targetPort: number): Promise<{ port: number; cutFarSide: () => void }> {
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((near) => {
    const far = netConnect(targetPort, '127.0.0.1');
    sockets.push(near, far);
    near.on('error', () => {});
    far.on('error', () => {});
    near.on('data', (chunk: Buffer) => far.writable && far.write(chunk));
    far.on('data', (chunk: Buffer) => near.writable && near.write(chunk));
    pairs.push([near, far]);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cutFarSide: () => {
      for (const [near, far] of pairs) {
        near.removeAllListeners('data');
        near.on('data', () => {});
        far.destroy();
      }
    },
  };
}

describe('TCP stream transport', () => {
  it('handshakes over TCP; both sides see the proven key; bodies flow; the pool reuses one connection', async () => {
    const a = testIdentity();
    const b = testIdentity();
    const { t: ta } = await transport(a);
    const { t: tb } = await transport(b);
    const inbound: Connection[] = [];
    tb.onConnection((c) => inbound.push(c));
    const c1 = await ta.connect(tb.address, b.publicKey);
    const c2 = await ta.connect(tb.address, b.publicKey);
    assert.equal(c1, c2, 'the second connect reuses the pooled connection');
    await waitFor(() => inbound.length === 1);
    const server = inbound[0] as Connection;
    assert.ok(bytesEqual(c1.remotePublicKey, b.publicKey));
    assert.ok(bytesEqual(server.remotePublicKey, a.publicKey));
    assert.equal(server.remoteAddress.host, '127.0.0.1');
    const got: string[] = [];
    server.onBody((body) => {
      got.push(new TextDecoder().decode(body));
      server.send(body);
    });
    const echoed: string[] = [];
    c1.onBody((body) => echoed.push(new TextDecoder().decode(body)));
    c1.send(new TextEncoder().encode('hello over tcp'));
    await waitFor(() => echoed.length === 1);
    assert.deepEqual(got, ['hello over tcp']);
    assert.equal(ta.stats().outboundOpened, 1);
    assert.equal(tb.stats().inboundAccepted, 1);
    // connect from b back to a reuses the inbound connection too: one TCP connection per pair
    assert.equal(await tb.connect(ta.address, a.publicKey), server);
  });

  it('refuses a wrong dialled key and reports why on both sides', async () => {
    const b = testIdentity();
    const { t: ta } = await transport(testIdentity());
    const { t: tb, events } = await transport(b);
    await assert.rejects(ta.connect(tb.address, testIdentity().publicKey), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'HANDSHAKE_FAILED');
      assert.match(e.message, /not the dialled key/);
      return true;
    });
    await waitFor(() => events.some((e) => e.type === 'handshake-failed'));
    const failed = events.find((e) => e.type === 'handshake-failed');
    assert.ok(failed && 'reason' in failed && /refused by the peer/.test(failed.reason));
    assert.equal(tb.stats().open, 0);
  });

  it('probe: true only when the named port answers with the expected key; nothing is pooled', async () => {
    const b = testIdentity();
    const { t: ta } = await transport(testIdentity());
    const { t: tb, events } = await transport(b);
    // A plain TCP listener (anything that accepts a connection) is not the node we expect.
    const impostor = createServer((socket) => socket.on('error', () => {}));
    servers.push(impostor);
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const impostorPort = (impostor.address() as AddressInfo).port;

    assert.equal(await ta.probe(tb.address, b.publicKey), true);
    assert.equal(await ta.probe(tb.address, testIdentity().publicKey), false, 'another key');
    assert.equal(
      await ta.probe(
        { host: '127.0.0.1', port: impostorPort, family: 4 },
        b.publicKey,
        AbortSignal.timeout(300),
      ),
      false,
      'a port that accepts TCP but proves nothing',
    );
    const { t: gone } = await transport(testIdentity());
    const goneAddress = gone.address;
    await gone.close();
    assert.equal(await ta.probe(goneAddress, b.publicKey), false, 'a closed port');

    // b answered both probes it received (the wrong-key one is the prober's to refuse).
    await waitFor(() => tb.stats().probesAnswered === 2);
    assert.deepEqual(
      { proven: ta.stats().probesProven, failed: ta.stats().probesFailed },
      { proven: 1, failed: 3 },
    );
    assert.equal(ta.stats().open + tb.stats().open, 0, 'a probe pools no connection on either side');
    assert.equal(tb.stats().handshakeFailures, 0, 'answering a probe is not a failed handshake');
    assert.ok(!events.some((e) => e.type === 'open'));
  });

  it('a dial to a closed port rejects with DIAL_FAILED', async () => {
    const { t: ta } = await transport(testIdentity());
    const { t: dead } = await transport(testIdentity());
    const address = dead.address;
    await dead.close();
    await assert.rejects(ta.connect(address, testIdentity().publicKey), { code: 'DIAL_FAILED' });
  });

  it('simultaneous dials leave exactly one connection, the same one on both sides', async () => {
    for (let round = 0; round < 5; round++) {
      const [small, large] = orderedPair();
      const { t: ts } = await transport(small);
      const { t: tl } = await transport(large);
      const [cs, cl] = await Promise.all([
        ts.connect(tl.address, large.publicKey),
        tl.connect(ts.address, small.publicKey),
      ]);
      await delay(50);
      assert.equal(ts.stats().open, 1, `round ${round}: one open connection at the smaller key`);
      assert.equal(tl.stats().open, 1, `round ${round}: one open connection at the larger key`);
      const keptS = ts.connectionTo(large.publicKey) as SecureConnection;
      const keptL = tl.connectionTo(small.publicKey) as SecureConnection;
      assert.notEqual(keptS.initiator, keptL.initiator, 'the two ends of one TCP connection');
      assert.ok(!cs.closed || !cl.closed);
      if (tl.stats().duplicatesRefused + ts.stats().duplicatesRefused > 0) {
        // A real race: the rule kept the connection the smaller key initiated.
        assert.equal(keptS.initiator, true, `round ${round}: kept the smaller key's connection`);
      }
      const got: number[] = [];
      keptL.onBody((b) => got.push(b[0] as number));
      keptS.send(Uint8Array.of(round));
      await waitFor(() => got.length === 1);
      assert.deepEqual(got, [round]);
      await ts.close();
      await tl.close();
    }
  });

  it('a peer that lost a young connection gets through: refused as a duplicate, then REPLACE', async () => {
    const [small, large] = orderedPair();
    const { t: ts, events } = await transport(small, { handshakeTimeoutMs: 2000 });
    const { t: tl } = await transport(large, { handshakeTimeoutMs: 2000 });
    const relay = await halfOpenRelay(tl.address.port);
    const stale = await ts.connect({ ...tl.address, port: relay.port }, large.publicKey);
    await waitFor(() => tl.stats().open === 1);
    relay.cutFarSide();
    await waitFor(() => tl.stats().open === 0);
    assert.equal(stale.closed, false, 'the smaller side still believes in its connection');
    const fresh = await tl.connect(ts.address, small.publicKey);
    assert.equal(fresh.closed, false);
    assert.equal(tl.stats().duplicatesRefused, 1, 'the first dial was refused as a duplicate');
    await waitFor(() => stale.closed);
    assert.ok(events.some((e) => e.type === 'close' && /replaced by a newer connection/.test(e.reason)));
    const kept = ts.connectionTo(large.publicKey);
    assert.ok(kept && kept !== stale, 'the smaller side now holds the new connection');
    assert.equal(ts.stats().open, 1);
  });

  it('a new dial replaces a connection older than the handshake timeout at once', async () => {
    const [small, large] = orderedPair();
    // Long enough for a handshake on a loaded machine, short enough to wait out.
    const { t: ts } = await transport(small, { handshakeTimeoutMs: 1000 });
    const { t: tl } = await transport(large, { handshakeTimeoutMs: 1000 });
    const relay = await halfOpenRelay(tl.address.port);
    const stale = await ts.connect({ ...tl.address, port: relay.port }, large.publicKey);
    await waitFor(() => tl.stats().open === 1);
    relay.cutFarSide();
    await waitFor(() => tl.stats().open === 0);
    await delay(1100);
    const fresh = await tl.connect(ts.address, small.publicKey);
    assert.equal(fresh.closed, false);
    assert.equal(tl.stats().duplicatesRefused, 0, 'no refusal: an old connection is not a race');
    await waitFor(() => stale.closed);
    assert.equal(ts.stats().replaced, 1);
  });

  it('closes an idle connection with a reason, and the next connect reconnects', async () => {
    const b = testIdentity();
    const { t: ta, events } = await transport(testIdentity(), { idleCloseMs: 150 });
    const { t: tb } = await transport(b, { idleCloseMs: 10_000 });
    const first = await ta.connect(tb.address, b.publicKey);
    const reason = await new Promise<string>((resolve) => first.onClose(resolve));
    assert.equal(reason, 'idle: no records either way for 150 ms');
    assert.ok(events.some((e) => e.type === 'close' && e.reason === reason));
    await waitFor(() => tb.stats().open === 0);
    const second = await ta.connect(tb.address, b.publicKey);
    assert.notEqual(second, first);
    assert.equal(second.closed, false);
    assert.equal(ta.stats().outboundOpened, 2);
  });

  it('refuses inbound connections past the handshake cap and the connection cap, and counts them', async () => {
    const b = testIdentity();
    const { t: tb, events } = await transport(b, { maxHandshakes: 1, maxConnections: 2 });
    // One half-open dial holds the only handshake slot.
    const idle = netConnect(tb.address.port, '127.0.0.1');
    sockets.push(idle);
    await waitFor(() => tb.stats().handshakesInProgress === 1);
    const { t: ta } = await transport(testIdentity());
    await assert.rejects(ta.connect(tb.address, b.publicKey), { code: 'HANDSHAKE_FAILED' });
    assert.equal(tb.stats().refusedHandshakeCap, 1);
    idle.destroy();
    await waitFor(() => tb.stats().handshakesInProgress === 0);
    const peers = await Promise.all([
      transport(testIdentity()),
      transport(testIdentity()),
      transport(testIdentity()),
    ]);
    await peers[0].t.connect(tb.address, b.publicKey);
    await peers[1].t.connect(tb.address, b.publicKey);
    await waitFor(() => tb.stats().open === 2);
    await assert.rejects(peers[2].t.connect(tb.address, b.publicKey));
    assert.equal(tb.stats().refusedConnectionCap, 1);
    assert.ok(events.some((e) => e.type === 'refused' && /connection cap of 2/.test(e.reason)));
  });

  it('backpressure over TCP: a receiver that stops reading makes send() false, then drain fires', async () => {
    const b = testIdentity();
    const { t: ta } = await transport(testIdentity(), { sendQueueBytes: 128 * 1024 });
    const { t: tb } = await transport(b);
    let server: SecureConnection | undefined;
    tb.onConnection((c) => (server = c as SecureConnection));
    const client = (await ta.connect(tb.address, b.publicKey)) as SecureConnection;
    await waitFor(() => server !== undefined);
    const s = server as SecureConnection;
    let received = 0;
    s.onBody(() => received++);
    s.pauseReading();
    const body = new Uint8Array(64 * 1024);
    let sent = 0;
    // Loopback kernel buffers hold a few MiB; 4,000 x 64 KiB = 250 MiB is far past them.
    for (let round = 0; round < 200 && client.send(body); round++) {
      sent++;
      while (sent % 20 !== 0 && client.send(body)) sent++;
      await delay(2);
    }
    assert.equal(client.send(body), false, 'the send queue is full');
    assert.ok(sent < 4000);
    const drained = new Promise<void>((resolve) => client.onDrain(resolve));
    s.resumeReading();
    await drained;
    assert.equal(client.send(body), true);
    await waitFor(() => received === sent + 1, 10_000);
  });

  it('many frames in flight both ways over one TCP connection arrive complete and in order', async () => {
    const b = testIdentity();
    const { t: ta } = await transport(testIdentity());
    const { t: tb } = await transport(b);
    let server: Connection | undefined;
    tb.onConnection((c) => (server = c));
    const client = await ta.connect(tb.address, b.publicKey);
    await waitFor(() => server !== undefined);
    const s = server as Connection;
    const count = 5000;
    const atS: number[] = [];
    const atC: number[] = [];
    const num = (body: Uint8Array): number => new DataView(body.buffer, body.byteOffset).getUint32(0);
    s.onBody((body) => atS.push(num(body)));
    client.onBody((body) => atC.push(num(body)));
    const frame = (n: number): Uint8Array => {
      const out = new Uint8Array(4 + ((n * 37) % 1500));
      new DataView(out.buffer).setUint32(0, n);
      return out;
    };
    let sc = 0;
    let ss = 0;
    const start = Date.now();
    while ((atS.length < count || atC.length < count) && Date.now() - start < 15_000) {
      while (sc < count && client.send(frame(sc))) sc++;
      while (ss < count && s.send(frame(ss))) ss++;
      await delay(1);
    }
    assert.deepEqual(
      atS,
      Array.from({ length: count }, (_, n) => n),
    );
    assert.deepEqual(
      atC,
      Array.from({ length: count }, (_, n) => n),
    );
  });

  it('close() closes pooled connections with a reason and refuses new connects', async () => {
    const b = testIdentity();
    const { t: ta } = await transport(testIdentity());
    const { t: tb } = await transport(b);
    let server: Connection | undefined;
    tb.onConnection((c) => (server = c));
    const client = await ta.connect(tb.address, b.publicKey);
    await waitFor(() => server !== undefined);
    const remoteReason = new Promise<string>((resolve) => (server as Connection).onClose(resolve));
    await ta.close();
    assert.equal(client.closed, true);
    assert.equal(await remoteReason, 'peer closed: the transport is closing');
    await assert.rejects(ta.connect(tb.address, b.publicKey), { code: 'CLOSED' });
  });
});
