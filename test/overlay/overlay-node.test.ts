import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FULL_NODE_SALT, readAdvert } from '../../src/node/overlay-adverts.js';
import { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget, signItem } from '../../src/protocols/overlay/item.js';
import { OverlayStore } from '../../src/protocols/overlay/store.js';
import { MemoryItemBackend } from '../../src/storage/item-store.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryStateStore } from '../../src/storage/state-store.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { SeededRandom } from '../../src/util/random.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const read = (b: Uint8Array): string => new TextDecoder().decode(b);

async function overlay(size: number, seed = 1) {
  const clock = new VirtualClock(1_700_000_000_000);
  const random = new SeededRandom(seed);
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(40) });
  const nodes: OverlayNode[] = [];
  const make = (
    i: number,
    identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random }),
    extra = {},
  ) => {
    const address = { host: `10.0.${i >> 8}.${i & 255}`, port: 7000, family: 4 as const };
    const transport = net.listen(identity.publicKey, address);
    const first = nodes[0];
    return new OverlayNode({
      identity,
      transport,
      clock,
      random,
      bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
      ...extra,
    });
  };
  for (let i = 0; i < size; i++) {
    const node = make(i);
    nodes.push(node);
    const joined = await clock.run(node.start());
    assert.ok(joined.ok, joined.message);
  }
  return { clock, random, net, nodes, make };
}

describe('overlay node (in-memory streams, virtual time)', () => {
  it('finds an item put by one node from every other node, verified and at the latest seq', async () => {
    const { clock, nodes } = await overlay(40);
    const publisher = nodes[7] as OverlayNode;
    const first = await clock.run(publisher.put(text('v1'), { salt: text('dmsg') }));
    assert.ok(first.stored >= 10, `stored on ${first.stored} of ${first.asked}`);
    const second = await clock.run(publisher.put(text('v2'), { salt: text('dmsg') }));
    assert.ok(second.seq > first.seq);
    let found = 0;
    for (const reader of nodes) {
      const got = await clock.run(reader.get(publisher.publicKey, { salt: text('dmsg') }));
      if (got && read(got.item.v) === 'v2') found++;
    }
    assert.equal(found, nodes.length);
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('fills tables only with nodes that answered, and every node knows many others', async () => {
    const { clock, nodes } = await overlay(40, 2);
    await clock.advance(1_000);
    for (const node of nodes) assert.ok(node.table.size >= 10, `a node knows only ${node.table.size}`);
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('deletes with a tombstone that an older put cannot undo', async () => {
    const { clock, nodes } = await overlay(25, 3);
    const publisher = nodes[3] as OverlayNode;
    const salt = text('svc');
    const put = await clock.run(publisher.put(text('alive'), { salt }));
    await clock.run(publisher.delete({ salt }));
    const got = await clock.run((nodes[20] as OverlayNode).get(publisher.publicKey, { salt }));
    assert.equal(got?.deleted, true);
    // Replaying the old put is refused by every node that holds the tombstone.
    const stale = await nodes[10]?.store.put(
      (await clock.run((nodes[11] as OverlayNode).get(publisher.publicKey, { salt })))!.item,
      clock.now(),
    );
    assert.ok(stale && !stale.ok);
    assert.ok(put.seq > 0n);
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('a restarted publisher never reuses a seq, even when its clock went back', async () => {
    const { clock, nodes, make } = await overlay(20, 4);
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
    const state = new MemoryStateStore();
    const a = make(100, identity, { state });
    await clock.run(a.start());
    const first = await clock.run(a.put(text('one')));
    await a.close();
    // The same key on a fresh process whose state was lost: the network's seq still wins.
    const b = make(101, identity);
    await clock.run(b.start());
    const second = await clock.run(b.put(text('two')));
    assert.ok(second.seq > first.seq, `${second.seq} <= ${first.seq}`);
    assert.ok(second.stored > 0);
    await b.close();
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('ignores a forged or mismatched item from a lying node and counts the lie', async () => {
    const { clock, nodes, random } = await overlay(20, 5);
    const publisher = nodes[2] as OverlayNode;
    await clock.run(publisher.put(text('genuine')));
    // Every node now holds, under the publisher's target, an item signed by someone else.
    const mallory = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const forged = signItem(mallory, text('forged'), 1n << 62n);
    const target = (await clock.run(publisher.put(text('genuine2')))).target;
    for (const node of nodes.slice(10)) {
      // Write straight into the backend, as a lying node would serve it.
      await (node.store as unknown as { backend: { store: (r: unknown) => Promise<void> } }).backend.store({
        target,
        v: (await import('../../src/protocols/overlay/store.js')).packItem(forged),
        storedAt: clock.now(),
        expiresAt: clock.now() + 3_600_000,
      });
    }
    const got = await clock.run((nodes[0] as OverlayNode).get(publisher.publicKey));
    assert.equal(got && read(got.item.v), 'genuine2');
    assert.ok((got?.lies ?? 0) > 0, 'no lie was detected');
    // The forged seq does not leak into the publisher's next seq either.
    const next = await clock.run(publisher.put(text('genuine3')));
    assert.ok(next.seq < 1n << 62n, `the forged seq pushed ours to ${next.seq}`);
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('a full node that was down catches up by reconciling with another full node', async () => {
    const { clock, nodes, make, random } = await overlay(15, 6);
    const aId = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const bId = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const a = make(200, aId, { fullNode: true });
    await clock.run(a.start());
    // B holds one item A never saw, then goes down.
    const bStore = new OverlayStore(new MemoryItemBackend(), { fullNode: true });
    const onlyB = signItem(bId, text('only on b'), 1n, text('b'));
    assert.ok((await bStore.put(onlyB, clock.now())).ok);
    // While B is down, items are published: full node A stores them all.
    for (const [i, publisher] of nodes.slice(0, 5).entries()) {
      await clock.run(publisher.put(text(`while b was down ${i}`), { salt: text('dmsg') }));
    }
    for (let i = 0; i < 5; i++)
      assert.ok(await a.store.get(itemTarget(nodes[i]!.publicKey, text('dmsg')), clock.now()));
    const b = make(201, bId, {
      fullNode: true,
      store: bStore,
      fullNodes: [{ publicKey: a.publicKey, address: a.address }],
    });
    let reconciled: { pulledNew: number; pushedStored: number } | undefined;
    b.events.on('overlay:reconciled', (e) => (reconciled = e));
    await clock.run(b.start());
    await clock.runUntil(() => reconciled !== undefined, 60_000);
    assert.ok(reconciled && reconciled.pulledNew >= 5, `pulled ${reconciled?.pulledNew}`);
    assert.equal(reconciled?.pushedStored, 1);
    for (let i = 0; i < 5; i++)
      assert.ok(await b.store.get(itemTarget(nodes[i]!.publicKey, text('dmsg')), clock.now()));
    assert.ok(await a.store.get(itemTarget(bId.publicKey, text('b')), clock.now()));
    await Promise.all([a, b, ...nodes].map((n) => n.close()));
  });

  it('full nodes find each other through signer-bound adverts and reconcile without configuration', async () => {
    const { clock, nodes, make, random } = await overlay(12, 7);
    const a = make(300, OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random }), {
      fullNode: true,
    });
    const b = make(301, OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random }), {
      fullNode: true,
    });
    await clock.run(a.start());
    await clock.run(b.start());
    await clock.run(a.put(text('only on a'), { salt: text('svc') }));
    await clock.run(a.advertise());
    const peers: string[] = [];
    b.events.on('overlay:reconciled', (e) => peers.push(`${e.peer.host}:${e.peer.port}`));
    // The hourly reconcile reads the adverts b holds (a full node stores every one).
    await clock.advance(60 * 60_000 + 1_000);
    assert.ok(
      peers.includes(`${a.address.host}:${a.address.port}`),
      `b reconciled with ${peers.join(', ') || 'nobody'}`,
    );
    await Promise.all([a, b, ...nodes].map((n) => n.close()));
  });

  it('a full node advertises the host others can dial, never a wildcard', async () => {
    const { clock, net, nodes, random } = await overlay(8, 9);
    const full = (host: string, extra = {}) => {
      const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
      return new OverlayNode({
        identity,
        transport: net.listen(identity.publicKey, { host, port: 7000, family: 4 }),
        clock,
        random,
        fullNode: true,
        bootstrap: [{ publicKey: nodes[0]!.publicKey, address: nodes[0]!.address }],
        ...extra,
      });
    };
    const wildcard = full('0.0.0.0');
    const named = full('0.0.0.0', { advertisedHost: '203.0.113.7', advertisedPort: 7901 });
    const warnings: string[] = [];
    wildcard.events.on('overlay:warning', (w) => warnings.push(w.message));
    await clock.run(wildcard.start());
    await clock.run(named.start());
    await clock.run(wildcard.advertise());
    await clock.run(named.advertise());
    const advertOf = async (n: OverlayNode) =>
      (await clock.run(nodes[3]!.get(n.publicKey, { salt: FULL_NODE_SALT })))?.item;
    assert.equal(await advertOf(wildcard), undefined, 'a wildcard address was advertised');
    assert.ok(
      warnings.some((m) => m.includes('advertise_host')),
      warnings.join('; '),
    );
    const item = await advertOf(named);
    assert.ok(item, 'the named full node published no advert');
    const advert = readAdvert(item, clock.now());
    assert.deepEqual(advert && { host: advert.address.host, port: advert.address.port }, {
      host: '203.0.113.7',
      port: 7901,
    });
    await Promise.all([wildcard, named, ...nodes].map((n) => n.close()));
  });

  it('a node whose bootstrap was down retries until it joins; alone, it reads what it stored', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const random = new SeededRandom(8);
    const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 });
    const seedId = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const seedAddress = { host: '10.9.0.1', port: 7000, family: 4 as const };
    const loneId = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const lone = new OverlayNode({
      identity: loneId,
      transport: net.listen(loneId.publicKey, { host: '10.9.0.2', port: 7000, family: 4 }),
      clock,
      random,
      bootstrap: [{ publicKey: seedId.publicKey, address: seedAddress }],
    });
    const first = await clock.run(lone.start());
    assert.equal(first.ok, false);
    // Alone, a put stays here and a get finds it here.
    await clock.run(lone.put(text('kept while alone'), { salt: text('svc') }));
    const alone = await clock.run(lone.get(lone.publicKey, { salt: text('svc') }));
    assert.equal(alone && read(alone.item.v), 'kept while alone');
    const seed = new OverlayNode({
      identity: seedId,
      transport: net.listen(seedId.publicKey, seedAddress),
      clock,
      random,
    });
    await clock.run(seed.start());
    let rejoined = false;
    lone.events.on('overlay:rejoin', (e) => (rejoined ||= e.ok));
    await clock.advance(35_000);
    assert.ok(rejoined, 'no successful rejoin');
    assert.ok(lone.table.size >= 1);
    await Promise.all([lone.close(), seed.close()]);
  });
});
