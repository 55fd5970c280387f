// The overlay's secure channel through a stream relay on real loopback sockets: the relay splices
// the bytes, and the channel stays end to end. A relay (here a tapping proxy in front of it, which
// sees exactly the bytes the relay sees) finds no plaintext, and a byte it alters closes the
// connection without delivering the altered body.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { secureInitiator, secureResponder } from '../../../src/transport/stream/channel.js';
import { dialSplice, SpliceRelay } from '../../../src/transport/stream/splice-relay.js';
import { makeAddress, type Address } from '../../../src/transport/address.js';
import { testIdentity, verifyDigest } from './fixture.js';

const enc = new TextEncoder();
const SECRET = 'the-plaintext-a-relay-must-not-see';
const TEST_LIMIT_MS = 5_000;

/** A proxy in front of the relay that records what passes and may flip one byte past `flipAt`. */
function tap(relay: Address, seen: Buffer[], flipAt?: number): Promise<{ server: Server; address: Address }> {
  let total = 0;
  const server = createServer((client: Socket) => {
    const upstream = connect({ host: relay.host, port: relay.port });
    client.on('data', (chunk: Buffer) => {
      seen.push(Buffer.from(chunk));
      if (flipAt !== undefined && total <= flipAt && flipAt < total + chunk.length)
        chunk[flipAt - total] = (chunk[flipAt - total] as number) ^ 0x40;
      total += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      seen.push(Buffer.from(chunk));
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address() as { port: number };
      resolve({ server, address: makeAddress('127.0.0.1', a.port) });
    }),
  );
}

async function connectThrough(aVia: Address, bVia: Address) {
  const alice = testIdentity(1);
  const bob = testIdentity(2);
  const circuit = randomBytes(16);
  const [aSocket, bSocket] = await Promise.all([dialSplice(aVia, circuit), dialSplice(bVia, circuit)]);
  const [a, b] = await Promise.all([
    secureInitiator(aSocket, { identity: alice, verify: verifyDigest, expectedPublicKey: bob.publicKey }),
    secureResponder(bSocket, { identity: bob, verify: verifyDigest }),
  ]);
  return { a, b, sockets: [aSocket, bSocket] };
}

function within<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no result in ${TEST_LIMIT_MS} ms`)), TEST_LIMIT_MS).unref(),
    ),
  ]);
}

describe('overlay channel through a splice relay', () => {
  const relay = new SpliceRelay();
  const cleanup: (() => void)[] = [];
  let listening: Promise<Address> | undefined;
  const relayAddress = () => (listening ??= relay.listen());
  after(async () => {
    for (const c of cleanup) c();
    await relay.close();
  });

  it('carries an authenticated channel end to end; the relay sees no plaintext', async () => {
    const at = await relayAddress();
    const seen: Buffer[] = [];
    const t = await tap(at, seen);
    cleanup.push(() => t.server.close());
    const { a, b, sockets } = await within(connectThrough(t.address, at), 'handshake through the relay');
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const got = new Promise<string>((resolve) => b.onBody((body) => resolve(new TextDecoder().decode(body))));
    const back = new Promise<string>((resolve) =>
      a.onBody((body) => resolve(new TextDecoder().decode(body))),
    );
    a.send(enc.encode(SECRET));
    assert.equal(await within(got, 'body a -> b'), SECRET);
    b.send(enc.encode(`${SECRET}-reply`));
    assert.equal(await within(back, 'body b -> a'), `${SECRET}-reply`);
    const wire = Buffer.concat(seen);
    assert.ok(wire.length > 100, `the relay carried ${wire.length} bytes`);
    assert.equal(wire.indexOf(SECRET), -1, 'the plaintext crossed the relay');
    assert.equal(relay.stats.spliced, 1);
    assert.ok(relay.stats.bytes >= wire.length - 17, 'the relay counted what it carried');
    a.close();
  });

  it('a byte the relay alters closes the connection and delivers nothing of it', async () => {
    const at = await relayAddress();
    const seen: Buffer[] = [];
    // Past the opening (17 bytes) and the handshake: into alice's first record.
    let handshakeBytes = 0;
    const probe = await tap(at, []);
    cleanup.push(() => probe.server.close());
    {
      const { a, sockets } = await within(connectThrough(probe.address, at), 'measuring handshake');
      handshakeBytes = sockets[0]!.bytesWritten;
      a.close();
      sockets.forEach((s) => s.destroy());
    }
    const t = await tap(at, seen, handshakeBytes + 10);
    cleanup.push(() => t.server.close());
    const { a, b, sockets } = await within(
      connectThrough(t.address, at),
      'handshake through the tampering relay',
    );
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const delivered: string[] = [];
    b.onBody((body) => delivered.push(new TextDecoder().decode(body)));
    const reason = new Promise<string>((resolve) => b.onClose(resolve));
    a.send(enc.encode(SECRET));
    assert.match(await within(reason, 'close after tampering'), /failed authentication/);
    assert.deepEqual(delivered, []);
    a.close();
  });
});
