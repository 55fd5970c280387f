// Issue 11, defect 6, on the deterministic in-memory network: who gets into the routing table.
// A query alone never admits its sender; a reply to our ping does; and a source the rate limit is
// dropping is neither pinged nor admitted, and loses the contacts it had.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import { encodeQuery } from '../../src/wire/krpc.js';

const LIMIT = { perSecond: 10, burst: 20, maxTracked: 100 };

async function setup() {
  const clock = new VirtualClock();
  const random = new SeededRandom(21);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => 2 });
  const node = (host: string, port = 6881) =>
    new Dht({
      transport: net.createTransport(host, port),
      clock,
      random: random.fork(),
      bootstrap: false,
      secureIds: 'off',
      rateLimit: LIMIT,
    });
  const target = node('2.0.0.1');
  await target.listen();
  const hosts = () => [...target.table.nodes()].map((n) => n.address.host);
  return { clock, net, node, target, hosts };
}

describe('routing table admission of queriers', () => {
  it('admits a querier only once it answers our ping', async () => {
    const { clock, net, node, target, hosts } = await setup();
    const pings: string[] = [];
    target.events.on('query:out', (e) => pings.push(`${e.method} ${e.to.host}`));
    // A querier that never answers: pinged, never admitted.
    const mute = net.createTransport('4.0.0.1', 7000);
    const id = new Uint8Array(20).fill(4);
    mute.send(encodeQuery(new Uint8Array([1]), 'find_node', { id, target: id }), target.address);
    await clock.advance(10_000);
    assert.deepEqual(pings, ['ping 4.0.0.1'], 'the unknown querier was pinged');
    assert.deepEqual(hosts(), [], 'a query alone does not admit its sender');
    // A querier that answers the ping is admitted.
    const honest = node('5.0.0.1');
    await honest.listen();
    await clock.run(honest.ping(target.address));
    await clock.advance(100);
    assert.deepEqual(pings.slice(1), ['ping 5.0.0.1']);
    assert.deepEqual(hosts(), ['5.0.0.1'], 'its answer admitted it');
    await honest.close();
    await target.close();
  });

  it('neither pings nor admits a source the rate limit drops, and forgets what it had there', async () => {
    const { clock, net, node, target, hosts } = await setup();
    // A node at 6.0.0.1 joins honestly first.
    const member = node('6.0.0.1');
    await member.listen();
    await clock.run(member.ping(target.address));
    await clock.advance(100);
    assert.deepEqual(hosts(), ['6.0.0.1']);
    // Then its address floods: many ports, valid queries, past the burst.
    const flood = Array.from({ length: 8 }, (_, i) => net.createTransport('6.0.0.1', 7000 + i));
    const pings: string[] = [];
    target.events.on('query:out', (e) => pings.push(`${e.method} ${e.to.host}:${e.to.port}`));
    for (let i = 0; i < 60; i++) {
      const id = new Uint8Array(20).fill(i + 1);
      flood[i % 8]!.send(encodeQuery(new Uint8Array([i]), 'find_node', { id, target: id }), target.address);
    }
    await clock.advance(100);
    assert.ok((target.stats().rpc?.dropped.rateLimited ?? 0) >= 60 - LIMIT.burst);
    assert.deepEqual(hosts(), [], 'the flooding source lost its contact');
    // Flood queries that passed before the first drop may have been pinged; none is admitted.
    const before = pings.length;
    // While limited: a new querier from there is not pinged, and even a reply does not admit it.
    await clock.run(member.ping(target.address));
    await clock.advance(100);
    assert.equal(pings.length, before, 'no ping to a querier from a limited source');
    await clock.run(target.ping(member.address));
    await clock.advance(100);
    assert.deepEqual(hosts(), [], 'a reply from a limited source does not admit it');
    // A minute after the last drop it is forgiven and can join again by answering.
    await clock.advance(61_000);
    await clock.run(target.ping(member.address));
    await clock.advance(100);
    assert.deepEqual(hosts(), ['6.0.0.1']);
    await member.close();
    await target.close();
  });
});
