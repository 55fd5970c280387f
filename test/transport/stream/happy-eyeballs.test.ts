import assert from 'node:assert/strict';
import { createServer, type Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseOverlayBootstrap } from '../../../src/node/overlay-tcp.js';
import { OverlayIdentity } from '../../../src/protocols/overlay/identity.js';
import { makeAddress, type Address } from '../../../src/transport/address.js';
import { PeerAddressBook } from '../../../src/transport/stream/address-book.js';
import {
  MAX_DIAL_CANDIDATES,
  NoPathError,
  orderCandidates,
  raceConnect,
} from '../../../src/transport/stream/happy-eyeballs.js';
import { TcpStreamTransport } from '../../../src/transport/stream/tcp.js';
import { toHex } from '../../../src/util/bytes.js';
import { systemClock } from '../../../src/util/clock.js';

const verify = (): boolean => true;
const admit = (): undefined => undefined;

describe('Happy Eyeballs (IPv6 first)', () => {
  let server: Server;
  let port = 0;
  /** A port nothing listens on: connecting is refused at once. */
  let closedPort = 0;
  before(async () => {
    server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '::', r)); // dual stack: ::1 and 127.0.0.1
    port = (server.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  after(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
  });

  it('orders v6 first, families alternating, duplicates dropped, at most MAX_DIAL_CANDIDATES', () => {
    const v4 = (n: number): Address => makeAddress(`10.0.0.${n}`, 1);
    const v6 = (n: number): Address => makeAddress(`2001:db8::${n}`, 1);
    const out = orderCandidates([v4(1), v4(1), v4(2), v6(1), v4(3), v6(2), v6(3)]);
    assert.deepEqual(
      out.map((a) => a.host),
      ['2001:db8::1', '10.0.0.1', '2001:db8::2', '10.0.0.2'],
    );
    assert.equal(out.length, MAX_DIAL_CANDIDATES);
  });

  it('connects over IPv6 when both families answer', async () => {
    const r = await raceConnect(orderCandidates([makeAddress('127.0.0.1', port), makeAddress('::1', port)]), {
      clock: systemClock,
    });
    r.socket.destroy();
    assert.equal(r.address.family, 6);
    assert.equal(r.attempts, 1);
  });

  it('falls back to IPv4 after the delay when IPv6 neither connects nor fails', async () => {
    const silent: Socket[] = [];
    const t0 = performance.now();
    const r = await raceConnect([makeAddress('::1', port), makeAddress('127.0.0.1', port)], {
      clock: systemClock,
      delayMs: 100,
      // The v6 attempt is a socket that never connects (a path that drops SYNs).
      open: (a) => {
        if (a.family === 6) {
          const s = new Socket();
          silent.push(s);
          return s;
        }
        return new Socket().connect(a.port, a.host);
      },
    });
    const ms = performance.now() - t0;
    r.socket.destroy();
    assert.equal(r.address.family, 4);
    assert.equal(r.attempts, 2);
    assert.ok(ms >= 95 && ms < 1_000, `fallback after ${ms} ms`);
    assert.ok(silent[0]?.destroyed, 'the losing attempt is destroyed');
  });

  it('moves on at once when IPv6 is refused, and names every address when none answers', async () => {
    const t0 = performance.now();
    const r = await raceConnect([makeAddress('::1', closedPort), makeAddress('127.0.0.1', port)], {
      clock: systemClock,
      delayMs: 5_000,
    });
    r.socket.destroy();
    assert.equal(r.address.family, 4);
    assert.ok(performance.now() - t0 < 1_000, 'a refusal does not wait for the delay');
    await assert.rejects(
      raceConnect([makeAddress('::1', closedPort), makeAddress('127.0.0.1', closedPort)], {
        clock: systemClock,
      }),
      (err: unknown) => err instanceof NoPathError && err.message.includes(`127.0.0.1:${closedPort}`),
    );
  });

  it('the address book is bounded and merges the addresses of a peer', () => {
    const book = new PeerAddressBook(2);
    const key = (n: number): Uint8Array => new Uint8Array(33).fill(n);
    book.learn(key(1), [makeAddress('10.0.0.1', 1)]);
    book.learn(key(1), [makeAddress('2001:db8::1', 1)]);
    assert.deepEqual(
      book.candidates(key(1), makeAddress('10.0.0.1', 1)).map((a) => a.host),
      ['2001:db8::1', '10.0.0.1'],
    );
    book.learn(key(2), [makeAddress('10.0.0.2', 1)]);
    book.learn(key(3), [makeAddress('10.0.0.3', 1)]);
    assert.equal(book.size, 2);
    assert.equal(book.candidates(key(1), makeAddress('10.0.0.9', 1)).length, 1, 'the oldest peer went');
  });

  it('parses a bootstrap with both families, IPv6 first', () => {
    const hex = toHex(OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }).publicKey);
    const b = parseOverlayBootstrap(`${hex}@127.0.0.1:4000,[::1]:4000`);
    assert.equal(b.address.host, '::1');
    assert.deepEqual(
      b.alternates?.map((a) => a.host),
      ['127.0.0.1'],
    );
    assert.throws(() => parseOverlayBootstrap(`${hex}@127.0.0.1:4000,nonsense`));
  });

  it('the pool dials a peer named at its v4 address over IPv6, and stats say so', async () => {
    const idA = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
    const idB = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
    const book = new PeerAddressBook();
    const b = await TcpStreamTransport.listen({ identity: idB, verify, admit, host: '::', port: 0 });
    const a = await TcpStreamTransport.listen({ identity: idA, verify, admit, addressBook: book });
    try {
      const v4 = makeAddress('127.0.0.1', b.address.port);
      book.learn(idB.publicKey, [v4, makeAddress('::1', b.address.port)]);
      const conn = await a.connect(v4, idB.publicKey);
      assert.equal(conn.remoteAddress.family, 6);
      assert.deepEqual(a.stats().openByFamily, { v4: 0, v6: 1 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
