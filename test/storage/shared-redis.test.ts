import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { type Storage, openStorage } from '../../src/storage/open.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

/**
 * Several nodes on one host sharing one Redis namespace (the second vision document's DMSG
 * servers): an item stored through one node is served by the others, and a different
 * namespace (another network) sees nothing.
 */
describe('nodes sharing a Redis namespace', () => {
  let redis: RedisServer;
  const stores: Storage[] = [];
  const nodes: Dht[] = [];

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all(stores.map((s) => s.close()));
    await redis?.stop();
  });

  async function node(namespace: string, bootstrap: string[] | false): Promise<Dht> {
    const storage = await openStorage({ kind: 'redis', url: redis.url, namespace });
    stores.push(storage);
    const dht = new Dht({
      host: '127.0.0.1',
      bootstrap,
      peerStore: storage.peers,
      itemStore: storage.items,
      fullNode: true,
    });
    nodes.push(dht);
    await dht.start();
    return dht;
  }

  it('an item put to one node is served by its sibling; another namespace is separate', async () => {
    const a = await node('mainline', false);
    const boot = [`127.0.0.1:${a.address.port}`];
    const b = await node('mainline', boot);
    const client = await node('client-only', boot);

    const put = await client.putImmutable(new TextEncoder().encode('shared'), { republish: false });
    assert.ok(put.storedOn >= 1);
    // Ask each server directly for the item: siblings share it, the other network does not.
    const c = client.requireClient();
    const fromA = await c.get(a.address, put.target);
    const fromB = await c.get(b.address, put.target);
    assert.ok(fromA.v !== undefined && fromB.v !== undefined, 'both siblings serve the item');
    assert.ok(await b.items.get(put.target, 0), 'b holds it although the put may have gone to a');
    assert.ok(await a.items.get(put.target, 0), 'a holds it although the put may have gone to b');
    // Same Redis, another namespace (another network): nothing leaks across.
    const elsewhere = await openStorage({ kind: 'redis', url: redis.url, namespace: 'testnet' });
    stores.push(elsewhere);
    assert.equal(await elsewhere.items.get(put.target, 0), undefined);
    assert.equal(await elsewhere.items.count(), 0);
  });
});
