/**
 * The feature breakers over NAT work (issue 15, item 7): STUN, BEP 42 external-address voting,
 * using relays and relaying for others. Each test breaks the real feature through its class (a
 * prototype method that throws), then checks the node keeps answering, the feature is reported
 * off, and it runs again after the back-off. Without the breaker each test fails: the throw
 * escapes the socket's receive path (the virtual clock's timer) or every reply / send.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { EXTERNAL_IP_FEATURE, ExternalIpVoter } from '../../src/node/external-ip.js';
import { FEATURE_BACKOFF_MS, FEATURE_DEGRADES, type FeatureChange } from '../../src/node/feature-breakers.js';
import { STUN_FEATURE } from '../../src/node/nat.js';
import { RELAY_CLIENT_FEATURE, RelayClient } from '../../src/node/relay-client.js';
import { RELAY_SERVER_FEATURE, RelayServer } from '../../src/node/relay-server.js';
import { StunClient } from '../../src/protocols/stun/client.js';
import { encodeStun, Method } from '../../src/protocols/stun/message.js';
import { KadmiumError } from '../../src/util/errors.js';
import { encodeRelayFrame } from '../../src/wire/relay-frame.js';
import { breakMethod, repairLast, restoreMethods } from './break-method.js';
import { joinedNetwork } from './memory-net.js';

/** N nodes on an in-memory network, joined, on virtual time; node 2 relays when `relay`. */
async function network(size: number, seed: number, relay = false) {
  const { clock, net, nodes } = await joinedNetwork(size, seed, (i) => ({ relay: relay && i === 2 }));
  const raw = net.createTransport();
  return { clock, nodes, raw, close: () => Promise.all([...nodes.map((n) => n.close()), raw.close()]) };
}

type Net = Awaited<ReturnType<typeof network>>;

/** The node answers a ping from a peer, and reaches that peer itself. */
async function stillAnswers(t: Net, node: Dht, peer: Dht): Promise<void> {
  const answered = await t.clock.run(peer.ping(node.address, { timeoutMs: 2_000 }));
  assert.deepEqual(answered.id, node.id, 'the node keeps answering queries');
  const reached = await t.clock.run(node.ping(peer.address, { timeoutMs: 2_000 }));
  assert.deepEqual(reached.id, peer.id, 'and its own queries get through');
}

function featureState(node: Dht, feature: string): string | undefined {
  return node.stats().features.find((f) => f.feature === feature)?.state;
}

afterEach(restoreMethods);

describe('feature breakers over NAT work', () => {
  it('stun: a receive path that throws drops STUN, keeps KRPC, refuses discoverNat, then comes back', async () => {
    const t = await network(6, 11);
    try {
      const node = t.nodes[2]!;
      const seen: FeatureChange[] = [];
      node.events.on('feature', (c) => seen.push(c));
      const stunDatagram = () =>
        encodeStun({
          method: Method.Binding,
          cls: 'success',
          transactionId: new Uint8Array(12).fill(7),
          attributes: [],
        });
      breakMethod(StunClient.prototype, 'receive', 'STUN parser state corrupted');
      t.raw.send(stunDatagram(), node.address);
      await t.clock.advance(100);
      assert.equal(seen[0]?.feature, STUN_FEATURE);
      assert.equal(seen[0]?.degraded, FEATURE_DEGRADES[STUN_FEATURE], 'it says what it degraded');
      assert.equal(featureState(node, STUN_FEATURE), 'off');
      await stillAnswers(t, node, t.nodes[4]!);
      await assert.rejects(
        t.clock.run(node.discoverNat(t.raw.address)),
        (err: unknown) => err instanceof KadmiumError && err.code === 'FEATURE_OFF',
      );
      repairLast();
      await t.clock.advance(FEATURE_BACKOFF_MS);
      t.raw.send(stunDatagram(), node.address);
      await t.clock.advance(100);
      assert.equal(seen.at(-1)?.state, 'on', 'after the back-off a clean run turns it on');
      assert.equal(featureState(node, STUN_FEATURE), 'on');
    } finally {
      await t.close();
    }
  });

  it('external-ip: a vote that throws no longer fails the lookup whose reply carried it', async () => {
    const t = await network(10, 12);
    try {
      const node = t.nodes[5]!;
      breakMethod(ExternalIpVoter.prototype, 'report', 'ballot corrupted');
      const found = await t.clock.run(node.findNode(t.nodes[8]!.id));
      assert.ok(found.length > 0, 'the lookup still finds nodes');
      assert.equal(featureState(node, EXTERNAL_IP_FEATURE), 'off');
      await stillAnswers(t, node, t.nodes[1]!);
      repairLast();
      await t.clock.advance(FEATURE_BACKOFF_MS);
      await t.clock.run(node.findNode(t.nodes[3]!.id));
      assert.equal(featureState(node, EXTERNAL_IP_FEATURE), 'on');
    } finally {
      await t.close();
    }
  });

  it('relay-client: routing that throws sends direct instead of failing every send', async () => {
    const t = await network(6, 13);
    try {
      const node = t.nodes[3]!;
      // `live` is where every outgoing datagram asks whether a relay carries it.
      breakMethod(RelayClient.prototype, 'live', 'route table corrupted');
      await stillAnswers(t, node, t.nodes[1]!);
      assert.equal(featureState(node, RELAY_CLIENT_FEATURE), 'off');
      repairLast();
      await t.clock.advance(FEATURE_BACKOFF_MS);
      await stillAnswers(t, node, t.nodes[4]!);
      assert.equal(featureState(node, RELAY_CLIENT_FEATURE), 'on');
    } finally {
      await t.close();
    }
  });

  it('relay-server: forwarding that throws drops the frame and keeps the relay node answering', async () => {
    const t = await network(6, 14, true);
    try {
      const relay = t.nodes[2]!;
      const frame = () =>
        encodeRelayFrame(t.nodes[4]!.address, new TextEncoder().encode('payload')) as Uint8Array;
      breakMethod(RelayServer.prototype, 'forward', 'circuit table corrupted');
      t.raw.send(frame(), relay.address);
      await t.clock.advance(100);
      assert.equal(featureState(relay, RELAY_SERVER_FEATURE), 'off');
      await stillAnswers(t, relay, t.nodes[5]!);
      repairLast();
      await t.clock.advance(FEATURE_BACKOFF_MS);
      t.raw.send(frame(), relay.address);
      await t.clock.advance(100);
      assert.equal(featureState(relay, RELAY_SERVER_FEATURE), 'on');
    } finally {
      await t.close();
    }
  });
});
