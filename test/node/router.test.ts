// kadmium router: nodes only, nothing stored, only verified contacts handed out, routers seed
// each other; and the sharded table answers in true XOR order across its tables.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { asNodeId, compareDistance } from '../../src/kademlia/id.js';
import { MainlineClient } from '../../src/protocols/mainline/client.js';
import { Dht } from '../../src/node/dht.js';
import { Router } from '../../src/node/router.js';
import { ShardedTable } from '../../src/node/router-table.js';
import { Rpc } from '../../src/rpc/rpc.js';
import type { Address } from '../../src/transport/address.js';
import { createUdpTransport } from '../../src/transport/udp.js';
import { systemClock } from '../../src/util/clock.js';
import { KrpcRemoteError } from '../../src/util/errors.js';
import { SeededRandom, systemRandom } from '../../src/util/random.js';

const WAIT_STEP_MS = 50;
/** Poll until ok() or fail after maxMs (bounded in time and count). */
async function waitFor(what: string, ok: () => boolean | Promise<boolean>, maxMs = 10_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
  }
  assert.fail(`timed out after ${maxMs} ms waiting for ${what}`);
}

describe('ShardedTable', () => {
  it('answers closest in XOR order across tables, as one sorted list would', () => {
    const random = new SeededRandom(7);
    const table = new ShardedTable(20, 4, { k: 8 }, random, 0);
    const all: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = random.bytes(20);
      const r = table.observe(
        { id: asNodeId(id), address: { host: `10.${i >> 8}.${i & 255}.1`, port: 6881, family: 4 } },
        true,
        0,
      );
      if (r.action === 'added') all.push(id);
    }
    assert.ok(table.size > 500, `the table kept ${table.size}`);
    for (let t = 0; t < 50; t++) {
      // Near a kept id (dense region) and a random one (the answer may span several tables).
      const target = t % 2 === 0 ? (all[t * 7] as Uint8Array) : random.bytes(20);
      const got = table.closest(target, 8, {});
      const want = [...all].sort((a, b) => compareDistance(target, a, b)).slice(0, 8);
      // Every table keeps its own region densely, so the true 8 closest among those kept are
      // in the answer when they share the target's table; across tables order must still hold.
      for (let i = 1; i < got.length; i++)
        assert.ok(compareDistance(target, got[i - 1]!.id, got[i]!.id) < 0, 'answers are in distance order');
      assert.equal(got.length, 8);
      assert.deepEqual(got[0]!.id, want[0], 'the closest kept contact comes first');
    }
    for (const [s, t] of table.shards.entries())
      for (const n of t.nodes()) assert.equal(table.shardOf(n.id), s);
  });

  it('packs the same contacts as closest', () => {
    const random = new SeededRandom(9);
    const table = new ShardedTable(20, 3, { k: 8 }, random, 0);
    for (let i = 0; i < 500; i++)
      table.observe(
        {
          id: asNodeId(random.bytes(20)),
          address: { host: `10.0.${i >> 8}.${i & 255}`, port: 1, family: 4 },
        },
        true,
        0,
      );
    const target = random.bytes(20);
    const packed = table.closestPacked(target, 8, { family: 4 });
    const ids = table.closest(target, 8, { family: 4 }).map((c) => Buffer.from(c.id).toString('hex'));
    const fromPacked: string[] = [];
    for (let o = 0; o < packed.length; o += 26)
      fromPacked.push(Buffer.from(packed.subarray(o, o + 20)).toString('hex'));
    assert.deepEqual(fromPacked, ids);
  });
});

describe('kadmium router on loopback', { timeout: 60_000 }, () => {
  let router: Router;
  let second: Router | undefined;
  const nodes: Dht[] = [];
  let rpc: Rpc;
  let client: MainlineClient;
  let routerAddress: Address;

  before(async () => {
    router = new Router({ host: '127.0.0.1', port: 0, shardBits: 4, verifyPerSecond: 1000 });
    routerAddress = await router.listen();
    const boot = [`127.0.0.1:${routerAddress.port}`];
    for (let i = 0; i < 12; i++) {
      const node = new Dht({
        host: '127.0.0.1',
        port: 0,
        ipv6: false,
        bootstrap: boot,
        refreshOnStart: false,
      });
      nodes.push(node);
      await node.start({ timeoutMs: 5000 });
    }
    rpc = new Rpc({
      transport: await createUdpTransport({ host: '127.0.0.1', port: 0 }),
      clock: systemClock,
      random: systemRandom,
    });
    client = new MainlineClient(rpc, () => asNodeId(randomBytes(20)), {
      replied: () => undefined,
      failed: () => undefined,
    });
  });
  after(async () => {
    await rpc?.close();
    await Promise.all(nodes.map((n) => n.close()));
    await second?.close();
    await router?.close();
  });

  it('verifies the nodes that query it by pinging them back', async () => {
    await waitFor('12 verified contacts', () => router.stats().verified >= 12);
    const s = router.stats();
    assert.ok(s.pingsSent >= 12, `sent ${s.pingsSent} verifying pings`);
    assert.ok(s.queries.find_node >= 12, `served ${s.queries.find_node} find_node`);
  });

  it('answers find_node and get_peers with nodes only: no token, no values', async () => {
    const found = await client.findNode(routerAddress, randomBytes(20));
    assert.equal(found.nodes.length, 8);
    const known = new Set(nodes.map((n) => n.address.port));
    for (const c of found.nodes)
      assert.ok(known.has(c.address.port), `${c.address.port} is one of the nodes`);
    const peers = await client.getPeers(routerAddress, randomBytes(20));
    assert.equal(peers.token, undefined);
    assert.deepEqual(peers.values, []);
    assert.equal(peers.nodes.length, 8);
  });

  it('refuses announce_peer, get and put with 204: it stores nothing', async () => {
    const refused = (err: unknown) => err instanceof KrpcRemoteError && /stores nothing/.test(err.message);
    await assert.rejects(
      client.announcePeer(routerAddress, { infoHash: randomBytes(20), port: 1, token: randomBytes(4) }),
      refused,
    );
    await assert.rejects(client.get(routerAddress, randomBytes(20)), refused);
    assert.ok(router.stats().queries.refused >= 2);
  });

  it('a node joins through it and finds the others', async () => {
    const fresh = new Dht({
      host: '127.0.0.1',
      port: 0,
      ipv6: false,
      bootstrap: [`127.0.0.1:${routerAddress.port}`],
    });
    nodes.push(fresh);
    const joined = await fresh.start({ timeoutMs: 5000 });
    assert.ok(joined.ok, joined.message);
    // On a loaded machine a join's query can time out; a self lookup (what bucket refresh does)
    // then finds the rest. Bounded: a handful of tries in 10 s.
    await waitFor('the new node to know 8 contacts', async () => {
      if (fresh.table.size >= 8) return true;
      await fresh.findNode(fresh.id, { timeoutMs: 2000 }).catch(() => undefined);
      return fresh.table.size >= 8;
    });
  });

  it('a second router seeds from the first and verifies what it learned', async () => {
    second = new Router({
      host: '127.0.0.1',
      port: 0,
      shardBits: 4,
      verifyPerSecond: 1000,
      bootstrap: [`127.0.0.1:${routerAddress.port}`],
    });
    await second.listen();
    const seeded = await second.seed(4);
    assert.equal(seeded.responded, 1);
    await waitFor('the second router verified 8 contacts', () => second!.stats().verified >= 8);
    const found = await client.findNode(second.address, randomBytes(20));
    assert.equal(found.nodes.length, 8);
  });
});
