import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecureConnection } from '../../../src/transport/stream/connection.js';
import { HandshakeError } from '../../../src/transport/stream/errors.js';
import { memoryDuplexPair } from '../../../src/transport/stream/duplex-pair.js';
import { encodeFrame } from '../../../src/transport/stream/framing.js';
import { secureInitiator, secureResponder } from '../../../src/transport/stream/channel.js';
import { VirtualClock } from '../../../src/sim/virtual-clock.js';
import { bytesEqual } from '../../../src/util/bytes.js';
import { testIdentity, verifyDigest } from './fixture.js';
import { closed, frameRelay, handshakePair, passThrough, tick } from './helpers.js';

const alice = testIdentity(1);
const bob = testIdentity(2);
const carol = testIdentity(3);
const enc = new TextEncoder();

function ok(value: SecureConnection | Error): SecureConnection {
  if (value instanceof Error) throw value;
  return value;
}

function failure(value: SecureConnection | Error): string {
  assert.ok(value instanceof HandshakeError, `expected a HandshakeError, got ${String(value)}`);
  return value.reason;
}

describe('secure channel handshake', () => {
  it('succeeds; each side sees the key the other proved; bodies flow both ways', async () => {
    const { initiator, responder } = await handshakePair(alice, bob);
    const i = ok(initiator);
    const r = ok(responder);
    assert.ok(bytesEqual(i.remotePublicKey, bob.publicKey));
    assert.ok(bytesEqual(r.remotePublicKey, alice.publicKey));
    assert.equal(i.initiator, true);
    assert.equal(r.initiator, false);
    const atR: string[] = [];
    const atI: string[] = [];
    r.onBody((b) => atR.push(new TextDecoder().decode(b)));
    i.onBody((b) => atI.push(new TextDecoder().decode(b)));
    assert.equal(i.send(enc.encode('ping')), true);
    assert.equal(r.send(enc.encode('pong')), true);
    await tick();
    assert.deepEqual(atR, ['ping']);
    assert.deepEqual(atI, ['pong']);
    const reason = closed(r);
    i.close('done here');
    assert.equal(await reason, 'peer closed: done here');
    assert.equal(i.send(enc.encode('late')), false);
  });

  it('refuses a responder that proves a key other than the dialled one', async () => {
    const { initiator, responder } = await handshakePair(alice, carol, {
      initiatorOptions: { expectedPublicKey: bob.publicKey },
    });
    assert.match(failure(initiator), /not the dialled key/);
    assert.match(failure(responder), /refused by the peer: the peer proved key/);
  });

  it('refuses a forged responder signature, and a forged initiator signature', async () => {
    const forger = { ...bob, signDigest: (d: Uint8Array) => carol.signDigest(d) };
    const one = await handshakePair(alice, forger);
    assert.match(failure(one.initiator), /responder's signature over the handshake does not verify/);
    assert.ok(one.responder instanceof HandshakeError);

    const forgedInitiator = { ...alice, signDigest: (d: Uint8Array) => carol.signDigest(d) };
    const two = await handshakePair(forgedInitiator, bob);
    assert.match(failure(two.responder), /initiator's signature over the handshake does not verify/);
    assert.match(failure(two.initiator), /refused by the peer/);
  });

  it('a high-S or out-of-range recid signature is refused', async () => {
    const badRecid = {
      ...bob,
      signDigest: (d: Uint8Array) => Uint8Array.of(...bob.signDigest(d).subarray(0, 64), 4),
    };
    const { initiator } = await handshakePair(alice, badRecid);
    assert.match(failure(initiator), /does not verify/);
  });

  it('refuses a peer whose puzzle AdmitPeer rejects, before any data flows, both ways', async () => {
    const seen: Uint8Array[] = [];
    const rejectPuzzle = (_key: Uint8Array, puzzle: Uint8Array): string | undefined => {
      seen.push(puzzle);
      return 'puzzle solution has 0 leading zero bits, need 8';
    };
    const one = await handshakePair(alice, bob, { responderOptions: { admit: rejectPuzzle } });
    assert.match(failure(one.responder), /peer not admitted: puzzle solution/);
    assert.match(failure(one.initiator), /refused by the peer: peer not admitted: puzzle solution/);
    assert.equal(seen.length, 1);
    assert.ok(bytesEqual(seen[0] as Uint8Array, alice.puzzle));

    const two = await handshakePair(alice, bob, { initiatorOptions: { admit: rejectPuzzle } });
    assert.match(failure(two.initiator), /peer not admitted/);
    assert.match(failure(two.responder), /refused by the peer: peer not admitted/);

    const throwing = await handshakePair(alice, bob, {
      responderOptions: {
        admit: () => {
          throw new Error('ban list unavailable');
        },
      },
    });
    assert.match(failure(throwing.responder), /admission check failed: ban list unavailable/);
  });

  it('a replayed PROOF from an earlier session fails: it signed the old responder nonce', async () => {
    const recorded: Uint8Array[] = [];
    const first = await handshakePair(alice, bob, {
      wire: frameRelay((frame, index) => {
        if (index < 2) recorded.push(frame);
        return [frame];
      }, passThrough),
    });
    ok(first.initiator).close();
    assert.equal(recorded.length, 2, 'HELLO and PROOF recorded');

    // The attacker replays alice's HELLO and PROOF to bob, without alice's keys.
    const [attacker, victimSide] = memoryDuplexPair();
    const victim = secureResponder(victimSide, { identity: bob, verify: verifyDigest });
    const bodies: Uint8Array[] = [];
    void victim.then(
      (c) => c.onBody((b) => bodies.push(b)),
      () => {},
    );
    attacker.on('data', () => {});
    attacker.write(encodeFrame(recorded[0] as Uint8Array));
    await tick();
    attacker.write(encodeFrame(recorded[1] as Uint8Array));
    const error = await victim.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.match(error.reason, /initiator's signature over the handshake does not verify/);
    assert.equal(bodies.length, 0);
  });

  it('a replayed REPLY from an earlier session fails: it signed the old initiator nonce', async () => {
    const recorded: Uint8Array[] = [];
    await handshakePair(alice, bob, {
      wire: frameRelay(passThrough, (frame, index) => {
        if (index === 0) recorded.push(frame);
        return [frame];
      }),
    });
    const [victimSide, attacker] = memoryDuplexPair();
    const victim = secureInitiator(victimSide, {
      identity: alice,
      verify: verifyDigest,
      expectedPublicKey: bob.publicKey,
    });
    attacker.on('data', () => {});
    attacker.write(encodeFrame(recorded[0] as Uint8Array));
    const error = await victim.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.match(error.reason, /responder's signature over the handshake does not verify/);
  });

  it('refuses another handshake version with a reason', async () => {
    const [attacker, side] = memoryDuplexPair();
    const victim = secureResponder(side, { identity: bob, verify: verifyDigest });
    const replies: Buffer[] = [];
    attacker.on('data', (c: Buffer) => replies.push(c));
    attacker.write(encodeFrame(Uint8Array.of(9, 1, ...new Uint8Array(65))));
    const error = await victim.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.match(error.reason, /unsupported handshake version 9; this node speaks 1/);
    await tick();
    assert.match(Buffer.concat(replies).toString('latin1'), /unsupported handshake version/);
  });

  it('times out on a truncated HELLO (injected clock), and fails at once when the stream ends', async () => {
    const clock = new VirtualClock();
    const [attacker, side] = memoryDuplexPair();
    const victim = secureResponder(side, {
      identity: bob,
      verify: verifyDigest,
      clock,
      handshakeTimeoutMs: 3000,
    });
    attacker.on('data', () => {});
    attacker.write(encodeFrame(new Uint8Array(67)).subarray(0, 30));
    await clock.advance(2999);
    let settled = false;
    void victim.then(
      () => (settled = true),
      () => (settled = true),
    );
    await tick();
    assert.equal(settled, false);
    await clock.advance(1);
    const error = await victim.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.reason, 'timed out after 3000 ms');

    const [attacker2, side2] = memoryDuplexPair();
    const victim2 = secureResponder(side2, { identity: bob, verify: verifyDigest, clock });
    attacker2.end(encodeFrame(new Uint8Array(67)).subarray(0, 30));
    const error2 = await victim2.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error2 instanceof HandshakeError);
    assert.match(error2.reason, /closed the stream during the handshake/);
  });

  it('refuses an oversized handshake message from its length prefix', async () => {
    const [attacker, side] = memoryDuplexPair();
    const victim = secureResponder(side, { identity: bob, verify: verifyDigest });
    attacker.on('data', () => {});
    attacker.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff));
    const error = await victim.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof HandshakeError);
    assert.match(
      error.reason,
      /handshake message too long: frame length 2147483647 exceeds the 256-byte limit/,
    );
  });
});

describe('secure channel records', () => {
  /** A connected pair whose post-handshake frames from initiator to responder pass through hook. */
  async function relayed(hook: (frame: Uint8Array, index: number) => Uint8Array[]) {
    const { initiator, responder } = await handshakePair(alice, bob, {
      // frame 0 and 1 initiator->responder are HELLO and PROOF
      wire: frameRelay((frame, index) => (index < 2 ? [frame] : hook(frame, index - 2)), passThrough),
    });
    const i = ok(initiator);
    const r = ok(responder);
    const delivered: string[] = [];
    r.onBody((b) => delivered.push(new TextDecoder().decode(b)));
    return { i, r, delivered };
  }

  it('a tampered record closes the connection with a reason; nothing of it is delivered', async () => {
    const { i, r, delivered } = await relayed((frame, index) => {
      if (index === 1) frame[frame.length - 20] = (frame[frame.length - 20] as number) ^ 1;
      return [frame];
    });
    const reason = closed(r);
    // One tick apart: bodies sent in the same tick would share one record.
    i.send(enc.encode('first'));
    await tick();
    i.send(enc.encode('second'));
    await tick();
    i.send(enc.encode('third'));
    assert.match(await reason, /failed authentication/);
    assert.deepEqual(delivered, ['first']);
  });

  it('reordered records close the connection', async () => {
    let held: Uint8Array | undefined;
    const { i, r, delivered } = await relayed((frame, index) => {
      if (index === 0) {
        held = frame;
        return [];
      }
      return index === 1 ? [frame, held as Uint8Array] : [frame];
    });
    const reason = closed(r);
    i.send(enc.encode('a'));
    await tick();
    i.send(enc.encode('b'));
    assert.match(await reason, /failed authentication/);
    assert.deepEqual(delivered, []);
  });

  it('a replayed record closes the connection', async () => {
    const { i, r, delivered } = await relayed((frame) => [frame, frame]);
    const reason = closed(r);
    i.send(enc.encode('once'));
    assert.match(await reason, /failed authentication/);
    assert.deepEqual(delivered, ['once']);
  });

  it('an oversized length closes the connection before allocating', async () => {
    const [iSide, rSide] = memoryDuplexPair();
    const [ci, cr] = await Promise.all([
      secureInitiator(iSide, { identity: alice, verify: verifyDigest, expectedPublicKey: bob.publicKey }),
      secureResponder(rSide, { identity: bob, verify: verifyDigest, maxFrameBytes: 1024 }),
    ]);
    const reason = closed(cr);
    iSide.write(Uint8Array.of(0x00, 0x40, 0x00, 0x00)); // 4 MiB claimed, nothing follows
    assert.match(await reason, /frame length 4194304 exceeds the 1041-byte limit/);
    assert.ok(ci);
  });

  it('send() refuses bodies over the limit with a typed error', async () => {
    const { initiator } = await handshakePair(alice, bob, { initiatorOptions: { maxFrameBytes: 100 } });
    assert.throws(() => ok(initiator).send(new Uint8Array(101)), { code: 'FRAME_TOO_LARGE' });
    assert.equal(ok(initiator).send(new Uint8Array(100)), true);
  });

  it('backpressure: a receiver that stops reading makes send() false, then drain fires', async () => {
    const { initiator, responder } = await handshakePair(alice, bob, {
      initiatorOptions: { sendQueueBytes: 64 * 1024 },
    });
    const i = ok(initiator);
    const r = ok(responder);
    let received = 0;
    r.onBody(() => received++);
    r.pauseReading();
    const body = new Uint8Array(4096);
    let sent = 0;
    while (sent < 10_000 && i.send(body)) sent++;
    assert.ok(sent < 10_000, 'send() returned false before 10,000 frames');
    await tick();
    assert.ok(i.queuedBytes >= 32 * 1024, `${i.queuedBytes} bytes queued`);
    assert.equal(i.send(body), false, 'still full while the receiver does not read');
    const drained = new Promise<void>((resolve) => i.onDrain(resolve));
    r.resumeReading();
    await drained;
    assert.equal(i.send(body), true);
    for (let n = 0; n < 100 && received < sent + 1; n++) await tick();
    assert.equal(received, sent + 1);
  });

  it('bodies sent in one tick share one record, and arrive separately and in order', async () => {
    let records = 0;
    const { i, delivered } = await relayed((frame) => {
      records++;
      return [frame];
    });
    for (let n = 0; n < 50; n++) i.send(enc.encode(`body ${n}`));
    i.send(new Uint8Array(0));
    for (let n = 0; n < 20 && delivered.length < 51; n++) await tick();
    assert.equal(records, 1);
    assert.deepEqual(delivered, [...Array.from({ length: 50 }, (_, n) => `body ${n}`), '']);
  });

  it('a body sent as body + tail arrives as one body, alone in a record or in a batch', async () => {
    let records = 0;
    const { i, delivered } = await relayed((frame) => {
      records++;
      return [frame];
    });
    i.send(enc.encode('head:'), enc.encode('alone'));
    for (let n = 0; n < 20 && delivered.length < 1; n++) await tick();
    assert.equal(records, 1);
    i.send(enc.encode('a'), enc.encode('b'));
    i.send(enc.encode('no tail'));
    i.send(new Uint8Array(0), enc.encode('empty head'));
    i.send(enc.encode('empty tail'), new Uint8Array(0));
    for (let n = 0; n < 20 && delivered.length < 5; n++) await tick();
    assert.equal(records, 2);
    assert.deepEqual(delivered, ['head:alone', 'ab', 'no tail', 'empty head', 'empty tail']);
  });

  it('send() counts the tail against the body limit', async () => {
    const { initiator } = await handshakePair(alice, bob, { initiatorOptions: { maxFrameBytes: 100 } });
    assert.throws(() => ok(initiator).send(new Uint8Array(60), new Uint8Array(41)), {
      code: 'FRAME_TOO_LARGE',
    });
    assert.equal(ok(initiator).send(new Uint8Array(60), new Uint8Array(40)), true);
  });

  it('many frames in flight both ways arrive complete and in order', async () => {
    const { initiator, responder } = await handshakePair(alice, bob);
    const i = ok(initiator);
    const r = ok(responder);
    const count = 3000;
    const atR: number[] = [];
    const atI: number[] = [];
    r.onBody((b) => atR.push(new DataView(b.buffer, b.byteOffset).getUint32(0)));
    i.onBody((b) => atI.push(new DataView(b.buffer, b.byteOffset).getUint32(0)));
    const frame = (n: number): Uint8Array => {
      const out = new Uint8Array(4 + (n % 200));
      new DataView(out.buffer).setUint32(0, n);
      return out;
    };
    let si = 0;
    let sr = 0;
    for (
      let round = 0;
      round < 10_000 && (si < count || sr < count || atR.length < count || atI.length < count);
      round++
    ) {
      while (si < count && i.send(frame(si))) si++;
      while (sr < count && r.send(frame(sr))) sr++;
      await tick();
    }
    assert.deepEqual(
      atR,
      Array.from({ length: count }, (_, n) => n),
    );
    assert.deepEqual(
      atI,
      Array.from({ length: count }, (_, n) => n),
    );
  });
});
