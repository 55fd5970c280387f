// The relay's rendezvous on loopback: a registration must prove its key (a forged LISTEN neither
// registers nor displaces the real listener), and a punch hands each side the other's endpoint
// and its own, as the relay saw them.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { makeAddress, type Address } from '../../../src/transport/address.js';
import { callViaRelay, registerWithRelay } from '../../../src/transport/stream/relay-registration.js';
import {
  decodeEndpoint,
  encodeEndpoint,
  LISTEN_OPENING,
  opening,
  PUNCH_ANSWER_OPENING,
  PUNCH_OPENING,
} from '../../../src/transport/stream/rendezvous-wire.js';
import { SpliceRelay } from '../../../src/transport/stream/splice-relay.js';
import { systemClock } from '../../../src/util/clock.js';
import { systemRandom } from '../../../src/util/random.js';
import { testIdentity, verifyDigest } from './fixture.js';

const LIMIT_MS = 3_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < LIMIT_MS / 20 && !done(); i++) await sleep(20);
  assert.ok(done(), `${what} within ${LIMIT_MS} ms`);
}

/** A raw connection to the relay: the bytes it receives, and whether it closed. */
function raw(relay: Address, first: Uint8Array) {
  const state = {
    received: Buffer.alloc(0),
    closed: false,
    localPort: 0,
    socket: undefined as unknown as Socket,
  };
  state.socket = connect({ host: relay.host, port: relay.port }, () => {
    state.localPort = state.socket.localPort!;
    state.socket.write(first);
  });
  state.socket.on('data', (d: Buffer) => (state.received = Buffer.concat([state.received, d])));
  state.socket.on('error', () => {});
  state.socket.on('close', () => (state.closed = true));
  return state;
}

describe('splice relay rendezvous', () => {
  const relay = new SpliceRelay(systemClock, systemRandom, verifyDigest);
  const cleanup: (() => void)[] = [];
  let address: Address;
  after(async () => {
    for (const c of cleanup) c();
    await relay.close();
  });

  it('registers a listener only with a signature over its nonce; a forged LISTEN cannot displace it', async () => {
    address = await relay.listen();
    const victim = testIdentity(7);
    const joined: Uint8Array[] = [];
    const registration = registerWithRelay(address, victim, systemClock, {
      join: (id) => {
        joined.push(id);
        return new Promise<Socket>(() => {});
      },
      onSocket: () => {},
    });
    cleanup.push(() => registration.close());
    await until(() => relay.rendezvous.size === 1, 'the victim registers');

    // Forgeries: zeros for a signature, and a valid signature by another key.
    const forged = raw(address, Buffer.concat([opening(LISTEN_OPENING, victim.publicKey), Buffer.alloc(65)]));
    const other = testIdentity(8);
    const wrongKey = raw(address, opening(LISTEN_OPENING, victim.publicKey));
    cleanup.push(
      () => forged.socket.destroy(),
      () => wrongKey.socket.destroy(),
    );
    await until(() => wrongKey.received.length >= 32, 'the relay sends its nonce');
    wrongKey.socket.write(other.signDigest(wrongKey.received.subarray(0, 32)));
    await until(() => forged.closed && wrongKey.closed, 'the relay closes both forgeries');
    assert.equal(relay.rendezvous.stats().listensRefused, 2);

    // A call for the victim's key still reaches the victim, not a forger.
    const call = await callViaRelay(address, victim.publicKey);
    cleanup.push(() => call.destroy());
    await until(() => joined.length === 1, 'the victim is told of the call');
    assert.equal(forged.received.length, 32, 'the forger got its nonce and nothing more');
  });

  it('a punch gives each side the other endpoint and its own, in one moment', async () => {
    const target = testIdentity(9);
    let answer: ReturnType<typeof raw> | undefined;
    const registration = registerWithRelay(address, target, systemClock, {
      join: () => new Promise<Socket>(() => {}),
      answerPunch: (id) => {
        answer = raw(address, opening(PUNCH_ANSWER_OPENING, id));
        return new Promise<Socket>(() => {});
      },
      onSocket: () => {},
    });
    cleanup.push(() => registration.close());
    await until(() => relay.rendezvous.stats().listeners === 2, 'the target registers');
    const caller = raw(address, opening(PUNCH_OPENING, target.publicKey));
    cleanup.push(
      () => caller.socket.destroy(),
      () => answer?.socket.destroy(),
    );
    await until(() => caller.received.length >= 14 && (answer?.received.length ?? 0) >= 14, 'both told');
    const me = (s: { localPort: number }) => makeAddress('127.0.0.1', s.localPort);
    assert.deepEqual(decodeEndpoint(caller.received), me(answer!), "the caller learns the target's endpoint");
    assert.deepEqual(decodeEndpoint(caller.received, 7), me(caller), 'and its own');
    assert.deepEqual(decodeEndpoint(answer!.received), me(caller));
    assert.deepEqual(decodeEndpoint(answer!.received, 7), me(answer!));
    await until(() => caller.closed || caller.socket.readableEnded, 'the relay ends the punch connection');
    assert.equal(relay.rendezvous.stats().punches, 1);
  });

  it('a punch for a key nobody registered is refused at once', async () => {
    const caller = raw(address, opening(PUNCH_OPENING, testIdentity(10).publicKey));
    cleanup.push(() => caller.socket.destroy());
    await until(() => caller.closed, 'the relay closes the punch');
    assert.equal(caller.received.length, 0);
  });

  it('endpoints round-trip; decoding garbage never throws', () => {
    for (const a of [makeAddress('198.51.100.7', 7000), makeAddress('2001:db8::5', 65535)])
      assert.deepEqual(decodeEndpoint(encodeEndpoint(a)), a);
    for (let i = 0; i < 2_000; i++) {
      const b = Uint8Array.from({ length: i % 24 }, (_, k) => (i * 31 + k * 7) & 0xff);
      if (i % 3 === 0 && b.length > 0) b[0] = i % 2 === 0 ? 4 : 6;
      const d = decodeEndpoint(b);
      assert.ok(d === undefined || d.port > 0);
    }
  });
});
