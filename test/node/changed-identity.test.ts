import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { addressKey } from '../../src/transport/address.js';
import { bytesEqual } from '../../src/util/bytes.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';

/**
 * A known contact's address gets taken over by a node of another network (restart with a new id,
 * NAT rebinding, a reused port). Lookups must not follow its referrals, and the stale contact
 * must leave the routing table. Found as a flaky test when concurrent test files reused ports.
 */
describe('a contact whose address now answers with another id', () => {
  it('is not trusted by lookups and is evicted', async () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(77);
    const net = new MemoryNetwork({ clock, random, latencyMs: () => 5 });
    const build = async (size: number, hostBase: number): Promise<Dht[]> => {
      const nodes: Dht[] = [];
      for (let i = 0; i < size; i++) {
        const transport = net.createTransport(`${hostBase}.0.${i}.1`, 6881);
        const bootstrap = i === 0 ? false : [`${hostBase}.0.0.1:6881`];
        const dht = new Dht({ transport, clock, random: random.fork(), bootstrap });
        nodes.push(dht);
        if (i === 0) await dht.listen();
        else await clock.run(dht.start());
      }
      for (const n of nodes) await clock.run(n.findNode(n.id));
      return nodes;
    };
    const ours = await build(20, 20);
    const infoHash = random.bytes(20);
    await clock.run(ours[3]!.announce(infoHash, { port: 4000 }));

    // Every node of ours that holds the peer is replaced, at its address, by a node of another network.
    const holders: Dht[] = [];
    for (const n of ours) if ((await n.peers.peers(infoHash, 10, 4, clock.now())).length > 0) holders.push(n);
    assert.ok(holders.length >= 4);
    const impostors: Dht[] = [];
    const taken = new Set(holders.map((h) => addressKey(h.address)));
    const oldIds = new Map(holders.map((h) => [addressKey(h.address), h.id]));
    for (const h of holders) {
      const address = h.address;
      await h.close();
      // The impostors answer whatever reaches them but query only each other: a node that
      // queries ours under its own id and then answers a ping as itself joins like any newcomer
      // (node/tables.ts `queried`), which is not what this test is about.
      const transport = net.createTransport(address.host, address.port);
      const send = transport.send.bind(transport);
      transport.send = (data, to) => {
        if (!taken.has(addressKey(to)) && Buffer.from(data).includes('1:y1:q')) return;
        send(data, to);
      };
      const impostor = new Dht({
        transport,
        clock,
        random: random.fork(),
        bootstrap: false,
      });
      await impostor.listen();
      impostors.push(impostor);
    }
    // The impostors know each other and claim peers for the same infohash at a port we never announced.
    for (const a of impostors) for (const b of impostors) if (a !== b) await clock.run(a.ping(b.address));
    for (const a of impostors)
      await a.peers.announce(infoHash, { host: '66.6.6.6', port: 6666, family: 4 }, false, clock.now());

    const searcher = ours.find((n) => !holders.includes(n) && n !== ours[3])!;
    const found = await clock.run(searcher.findPeers(infoHash));
    assert.ok(
      found.every((p) => p.port !== 6666),
      `the lookup trusted a node that answered with another id: ${JSON.stringify(found)}`,
    );
    // Answered under another id, the stale contacts are gone from the table, and the answers
    // admitted nobody in their place.
    await clock.run(searcher.findPeers(infoHash));
    for (const h of holders) {
      const held = searcher.table.getByAddress(h.address);
      assert.ok(
        !held || held.failures > 0 || !bytesEqual(held.id, oldIds.get(addressKey(h.address))!),
        'a contact that answered with another id kept its place',
      );
      assert.ok(!held || !impostors.some((i) => bytesEqual(i.id, held.id)), 'an impostor was admitted');
    }
    await Promise.all([...ours, ...impostors].map((n) => n.close()));
  });
});
