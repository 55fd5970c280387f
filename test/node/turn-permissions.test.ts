// TURN permissions last 300 s (RFC 5766 §8) and only CreatePermission renews them: the node's
// relay must renew every permission before then, for as long as the allocation lives. Against an
// in-process TURN server with long-term credentials (401 first), on a virtual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NodeRelay, TURN_PERMISSION_REFRESH_MS } from '../../src/node/relay.js';
import { StunClient } from '../../src/protocols/stun/client.js';
import {
  addressAttribute,
  Attr,
  decodeStun,
  encodeAddress,
  encodeStun,
  longTermKey,
  Method,
  text,
  u32,
  verifyIntegrity,
} from '../../src/protocols/stun/message.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { makeAddress, type Address } from '../../src/transport/address.js';
import { SplitTransport } from '../../src/transport/split.js';
import type { Transport } from '../../src/transport/transport.js';
import { SeededRandom } from '../../src/util/random.js';

const SERVER = makeAddress('198.51.100.2', 3478);
const PEER = makeAddress('203.0.113.7', 40000);
const PERMISSION_LIFETIME_MS = 300_000;
const KEY = longTermKey('user', 'bed', 'secret');

function setup() {
  const clock = new VirtualClock();
  /** When each CreatePermission for PEER's IP arrived with valid integrity. */
  const permissions: number[] = [];
  let stun: StunClient;
  const answer = (data: Uint8Array) => {
    const req = decodeStun(data);
    if (!req || req.cls !== 'request') return;
    const reply = (
      cls: 'success' | 'error',
      attributes: { type: number; value: Uint8Array }[],
      key?: Uint8Array,
    ) =>
      queueMicrotask(() =>
        stun.receive(
          encodeStun(
            { method: req.method, cls, transactionId: req.transactionId, attributes },
            { integrityKey: key },
          ),
          SERVER,
        ),
      );
    if (!verifyIntegrity(data, KEY)) {
      reply('error', [
        { type: Attr.ErrorCode, value: Uint8Array.from([0, 0, 4, 1]) },
        { type: Attr.Realm, value: text('bed') },
        { type: Attr.Nonce, value: text('nonce-1') },
      ]);
      return;
    }
    if (req.method === Method.Allocate)
      reply(
        'success',
        [
          {
            type: Attr.XorRelayedAddress,
            value: encodeAddress(makeAddress('198.51.100.2', 50000), req.transactionId, true),
          },
          { type: Attr.Lifetime, value: u32(600) },
        ],
        KEY,
      );
    else if (req.method === Method.CreatePermission) {
      if (addressAttribute(req, Attr.XorPeerAddress)?.host === PEER.host) permissions.push(clock.now());
      reply('success', [], KEY);
    } else reply('success', [{ type: Attr.Lifetime, value: u32(600) }], KEY);
  };
  stun = new StunClient(
    (data, to: Address) => to.port === SERVER.port && answer(data),
    clock,
    new SeededRandom(4),
  );
  const inner: Transport = {
    address: makeAddress('10.0.0.2', 6881),
    send: () => undefined,
    onMessage: () => undefined,
    onError: () => undefined,
    close: () => Promise.resolve(),
  };
  const shutdown = new AbortController();
  const problems: string[] = [];
  const relay = new NodeRelay(new SplitTransport(inner, () => false), stun, clock, shutdown.signal, (m) =>
    problems.push(m),
  );
  return { clock, relay, permissions, problems, shutdown };
}

describe('TURN permissions', () => {
  it('are renewed before their 300 s run out, for as long as the allocation lives', async () => {
    const { clock, relay, permissions, problems, shutdown } = setup();
    await clock.run(relay.allocate(SERVER, { username: 'user', password: 'secret' }));
    await clock.run(relay.permit(PEER));
    assert.equal(permissions.length, 1, 'the first CreatePermission');
    assert.ok(TURN_PERMISSION_REFRESH_MS < PERMISSION_LIFETIME_MS);
    await clock.advance(30 * 60_000);
    assert.ok(permissions.length >= 7, `renewed ${permissions.length - 1} times in 30 minutes`);
    for (let i = 1; i < permissions.length; i++)
      assert.ok(
        permissions[i]! - permissions[i - 1]! < PERMISSION_LIFETIME_MS,
        `a gap of ${permissions[i]! - permissions[i - 1]!} ms: the permission expired`,
      );
    assert.ok(30 * 60_000 - permissions.at(-1)! < PERMISSION_LIFETIME_MS, 'still alive at the end');
    assert.deepEqual(problems, []);
    relay.close();
    shutdown.abort();
  });
});
