// BEP 42 at the node level on an in-memory network with public-looking addresses: learning the
// external IP by vote, re-deriving the id and rebuilding the tables, keeping a pinned id, and the
// three enforcement levels.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecureId, secureNodeId } from '../../src/protocols/mainline/secure-id.js';
import { SeededRandom } from '../../src/util/random.js';
import { MemoryDhtNet } from './memory-net.js';

/** n routers at 20.0.i.1 (each its own /24), joined into one network through the first. */
async function routers(net: MemoryDhtNet, n: number, options = {}) {
  const first = net.add('20.0.0.1', options);
  await first.listen();
  for (let i = 1; i < n; i++) {
    const node = net.add(`20.0.${i}.1`, { ...options, bootstrap: ['20.0.0.1:6881'] });
    await node.listen();
    await net.settle(node.bootstrap());
  }
  return ['20.0.0.1:6881'];
}

describe('BEP 42 identity', () => {
  it('votes on the ip field, re-derives a secure id and rebuilds the tables', async () => {
    const net = new MemoryDhtNet(1);
    try {
      const boot = await routers(net, 6, { secureIds: 'off' });
      const node = net.add('60.1.2.3', { bootstrap: boot });
      const before = node.id;
      assert.equal(isSecureId(before, '60.1.2.3'), false);
      const changes: string[] = [];
      node.events.on('id:changed', (e) => changes.push(e.ip));
      await node.listen();
      const joined = await net.settle(node.bootstrap());
      assert.ok(joined.ok, joined.message);
      assert.equal(node.externalIp(4), '60.1.2.3');
      assert.deepEqual(changes, ['60.1.2.3'], 'one change, after the vote');
      assert.notDeepEqual(node.id, before);
      assert.ok(isSecureId(node.id, '60.1.2.3'));
      assert.equal(node.table.localId, node.id, 'the table was rebuilt under the new id');
      assert.ok(node.table.size >= 3, `kept its contacts: ${node.table.size}`);
      // Others now see the new id in its replies.
      const pong = await net.settle(net.nodes[0]!.ping(node.address));
      assert.deepEqual(pong.id, node.id);
    } finally {
      await net.close();
    }
  });

  it('keeps its id with secureIds off, with a pinned id, and behind a local address', async () => {
    const net = new MemoryDhtNet(2);
    try {
      const boot = await routers(net, 5, { secureIds: 'off' });
      const off = net.add('61.0.0.1', { bootstrap: boot, secureIds: 'off' });
      const pinnedId = new SeededRandom(9).bytes(20);
      const pinned = net.add('62.0.0.1', { bootstrap: boot, id: pinnedId });
      const local = net.add('192.168.7.7', { bootstrap: boot });
      const ids = [off.id, pinned.id, local.id];
      for (const n of [off, pinned, local]) {
        await n.listen();
        assert.ok((await net.settle(n.bootstrap())).ok);
      }
      assert.deepEqual([off.id, pinned.id, local.id], ids);
      assert.equal(off.externalIp(), '61.0.0.1', 'it still learns its address');
      assert.equal(local.externalIp(), '192.168.7.7');
    } finally {
      await net.close();
    }
  });

  it('require: keeps nodes with ids invalid for their IPs out of the table and never announces to them', async () => {
    const net = new MemoryDhtNet(3);
    try {
      // Half the routers have secure ids for their IPs, half random pinned ids.
      const first = net.add('20.0.0.1', { id: secureNodeId('20.0.0.1', net.random), secureIds: 'off' });
      await first.listen();
      const good = new Set<string>(['20.0.0.1']);
      for (let i = 1; i < 8; i++) {
        const host = `20.0.${i}.1`;
        const secure = i % 2 === 0;
        if (secure) good.add(host);
        const id = secure ? secureNodeId(host, net.random) : net.random.bytes(20);
        const n = net.add(host, { id, secureIds: 'off', bootstrap: ['20.0.0.1:6881'] });
        await n.listen();
        await net.settle(n.bootstrap());
      }
      const strict = net.add('63.0.0.1', { bootstrap: ['20.0.0.1:6881'], secureIds: 'require' });
      const lenient = net.add('64.0.0.1', { bootstrap: ['20.0.0.1:6881'], secureIds: 'off' });
      for (const n of [strict, lenient]) {
        await n.listen();
        await net.settle(n.bootstrap());
      }
      const strictHosts = [...strict.table.nodes()].map((c) => c.address.host);
      assert.ok(strictHosts.length >= 3);
      for (const h of strictHosts) assert.ok(good.has(h), `${h} has an invalid id but is in the table`);
      assert.ok(
        [...lenient.table.nodes()].some((c) => !good.has(c.address.host)),
        'off keeps everyone',
      );
      const stored: string[] = [];
      // (strict may store its own announce: it is among the closest, and its id is secure.)
      for (const n of net.nodes)
        if (n !== strict) n.events.on('peer:stored', () => stored.push(n.address.host));
      const result = await net.settle(strict.announce(new Uint8Array(20).fill(7), { port: 5000 }));
      assert.ok(result.announcedTo >= 1);
      for (const h of stored) assert.ok(good.has(h), `announced to ${h}, whose id is invalid`);
    } finally {
      await net.close();
    }
  });
});
