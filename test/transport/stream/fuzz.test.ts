/**
 * Fuzz: mutated and random handshake messages into live responders and initiators, and mutated
 * records into live connections. Nothing may throw, every refusal carries a reason, and a
 * connection never delivers a body that was not sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Duplex } from 'node:stream';
import { secureInitiator, secureResponder } from '../../../src/transport/stream/channel.js';
import { SecureConnection } from '../../../src/transport/stream/connection.js';
import { memoryDuplexPair } from '../../../src/transport/stream/duplex-pair.js';
import { FrameReader, FrameWriter, encodeFrame } from '../../../src/transport/stream/framing.js';
import { HandshakeError } from '../../../src/transport/stream/errors.js';
import { RecordKind, RecordOpener, RecordSealer } from '../../../src/transport/stream/record.js';
import { VirtualClock } from '../../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { bytesEqual } from '../../../src/util/bytes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { ChannelIdentity, VerifyDigest } from '../../../src/transport/stream/types.js';
import { frameRelay, handshakePair, passThrough, tick } from './helpers.js';

const TIME_BUDGET_MS = 20_000;
const random = new SeededRandom(0x5eed);
/**
 * The handshake fuzz exercises parsing and the state machine, not secp256k1: a keyed-hash
 * "signature" keeps a case at microseconds, so the count is reached on a loaded machine too, and a
 * mutated message still never verifies.
 */
function cheapIdentity(seed: number): ChannelIdentity {
  const publicKey = Uint8Array.of(2, ...new Uint8Array(32).fill(seed));
  return { publicKey, puzzle: new Uint8Array(32), signDigest: (digest) => cheapSignature(publicKey, digest) };
}
function cheapSignature(publicKey: Uint8Array, digest: Uint8Array): Uint8Array {
  return Uint8Array.of(...sha256(Uint8Array.of(...publicKey, ...digest)), ...new Uint8Array(33));
}
const cheapVerify: VerifyDigest = (publicKey, digest, signature) =>
  bytesEqual(cheapSignature(publicKey, digest), signature);
const alice = cheapIdentity(1);
const bob = cheapIdentity(2);

function mutate(input: Uint8Array): Uint8Array {
  const out = input.slice();
  switch (random.int(6)) {
    case 0: // flip a few bits
      for (let n = 1 + random.int(3); n > 0 && out.length > 0; n--) {
        const at = random.int(out.length);
        out[at] = (out[at] as number) ^ (1 << random.int(8));
      }
      return out;
    case 1: // truncate
      return out.subarray(0, random.int(out.length + 1));
    case 2: // extend
      return Uint8Array.of(...out, ...random.bytes(1 + random.int(40)));
    case 3: // overwrite a run
      if (out.length > 0) {
        const run = random.bytes(Math.min(out.length, 1 + random.int(8)));
        out.set(run, random.int(out.length - run.length + 1));
      }
      return out;
    case 4: // entirely random, plausible length
      return random.bytes(random.int(300));
    default: // a single byte changed to a boundary value
      if (out.length > 0) out[random.int(out.length)] = [0, 0x7f, 0x80, 0xff][random.int(4)] as number;
      return out;
  }
}

/** Bytes on the wire for one fuzzed message: usually framed, sometimes with a hostile prefix. */
function wire(message: Uint8Array): Uint8Array {
  const framed = encodeFrame(message);
  if (random.float() < 0.1) framed.set(random.bytes(4), 0);
  return framed;
}

describe('fuzz', () => {
  it('>= 5,000 mutated handshake messages into live handshakes: no throw, every failure has a reason', async () => {
    // Real messages to mutate, recorded from one honest handshake: HELLO, PROOF (I->R) and REPLY (R->I).
    const fromI: Uint8Array[] = [];
    const fromR: Uint8Array[] = [];
    await handshakePair(alice, bob, {
      initiatorOptions: { verify: cheapVerify },
      responderOptions: { verify: cheapVerify },
      wire: frameRelay(
        (f) => (fromI.push(f), [f]),
        (f) => (fromR.push(f), [f]),
      ),
    });
    const [hello, proof] = fromI as [Uint8Array, Uint8Array];
    const [reply] = fromR as [Uint8Array];
    const clock = new VirtualClock();
    const started = Date.now();
    let messages = 0;
    let failures = 0;
    let successes = 0;
    const pending: Array<Promise<void>> = [];
    const ends: Duplex[] = [];
    for (let n = 0; messages < 5000 && Date.now() - started < TIME_BUDGET_MS; n++) {
      const [attacker, side] = memoryDuplexPair();
      attacker.on('data', () => {});
      attacker.on('error', () => {});
      ends.push(attacker);
      const asResponder = n % 2 === 0;
      const promise = asResponder
        ? secureResponder(side, { identity: bob, verify: cheapVerify, clock })
        : secureInitiator(side, {
            identity: alice,
            verify: cheapVerify,
            clock,
            expectedPublicKey: bob.publicKey,
          });
      pending.push(
        promise.then(
          (conn) => {
            successes++;
            conn.close();
          },
          (error: unknown) => {
            assert.ok(error instanceof HandshakeError, `a HandshakeError, not ${String(error)}`);
            assert.ok(error.reason.length > 0);
            failures++;
          },
        ),
      );
      const script = asResponder
        ? [random.float() < 0.8 ? mutate(hello) : hello, mutate(proof)]
        : [mutate(reply)];
      for (const message of script) {
        attacker.write(wire(message));
        messages++;
      }
      if (n % 50 === 49) {
        await tick();
        await clock.advance(10_000); // time out whatever still waits, so nothing piles up
        for (const end of ends.splice(0)) end.destroy();
      }
    }
    await tick();
    await clock.advance(10_000);
    for (const end of ends) end.destroy();
    await Promise.all(pending);
    assert.ok(messages >= 5000, `only ${messages} messages within the time budget`);
    assert.equal(successes, 0, 'a mutated handshake never completes: replays sign an old nonce');
    assert.equal(failures, pending.length);
  });

  it('>= 5,000 mutated records into live connections: never deliver what was not sent', () => {
    const key = random.bytes(32);
    const started = Date.now();
    let cases = 0;
    let closedWithReason = 0;
    for (; cases < 5000 && Date.now() - started < TIME_BUDGET_MS; cases++) {
      const [peer, side] = memoryDuplexPair();
      peer.on('data', () => {});
      let conn!: SecureConnection;
      const reader = new FrameReader(
        (frame) => conn.receiveFrame(frame),
        (reason) => conn.fail(reason),
        1024 + 17,
      );
      conn = new SecureConnection({
        duplex: side,
        reader,
        writer: new FrameWriter(side),
        sealer: new RecordSealer(random.bytes(32)),
        opener: new RecordOpener(key),
        remotePublicKey: bob.publicKey,
        remoteAddress: { host: '127.0.0.1', port: 1, family: 4 },
        initiator: false,
        clock: new VirtualClock(),
        maxBodyBytes: 1024,
        idleCloseMs: 0,
      });
      conn.attach();
      const delivered: Uint8Array[] = [];
      conn.onBody((b) => delivered.push(new Uint8Array(b)));
      const sealer = new RecordSealer(key);
      const sent: Uint8Array[] = [];
      const valid = random.int(4);
      const bytes: Uint8Array[] = [];
      for (let i = 0; i < valid; i++) {
        const body = random.bytes(random.int(100));
        sent.push(body);
        bytes.push(sealer.seal(RecordKind.Data, body) as Uint8Array);
      }
      const extra = random.bytes(random.int(100));
      const original = sealer.seal(RecordKind.Data, extra) as Uint8Array;
      const bad = random.float() < 0.2 ? random.bytes(random.int(200)) : mutate(original);
      const all = Buffer.concat([...bytes, bad]);
      // Deliver in random chunks straight into the reader, as a socket would.
      for (let off = 0; off < all.length;) {
        const n = 1 + random.int(64);
        reader.push(all.subarray(off, off + n));
        off += n;
      }
      // Bytes appended after an intact record are a new (bad) frame; the record itself still counts.
      const intact = bad.length >= original.length && bytesEqual(bad.subarray(0, original.length), original);
      const expected = intact ? [...sent, extra] : sent;
      assert.ok(delivered.length <= expected.length);
      for (let i = 0; i < delivered.length; i++)
        assert.deepEqual(delivered[i], new Uint8Array(expected[i] as Uint8Array));
      if (conn.closed) {
        assert.ok((conn.reason ?? '').length > 0);
        closedWithReason++;
      }
      conn.close();
      peer.destroy();
    }
    assert.ok(cases >= 5000, `only ${cases} cases within the time budget`);
    assert.ok(closedWithReason > cases / 2, `${closedWithReason} of ${cases} closed with a reason`);
  });
});

void passThrough;
