import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import type { DhtEvents } from '../../src/node/events.js';
import { HEAL_MIN_INTERVAL_MS, Healer, LOST_AFTER_TIMEOUTS } from '../../src/node/healing.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';

const table = (n: number) => ({
  id: 'aa'.repeat(20),
  nodes: Array.from({ length: n }, (_, i) => ({ id: 'bb'.repeat(20), host: '10.0.0.1', port: 1000 + i })),
});

describe('Healer', () => {
  it('calls a table lost when empty or silent, snapshots it while healthy, and paces rejoins', () => {
    const h = new Healer();
    const state = (size: number) => ({ joined: true, size, k: 8, exportTable: () => table(100) });
    assert.equal(h.check(0, { ...state(0), joined: false }), undefined, 'not joined yet: nothing to heal');
    h.noteReply();
    assert.equal(h.check(1, state(20)), undefined);
    assert.equal(h.saved(undefined)?.nodes.length, 64, 'a healthy table was snapshotted, bounded');
    for (let i = 0; i < LOST_AFTER_TIMEOUTS - 1; i++) h.noteTimeout();
    assert.equal(h.check(2, state(20)), undefined, 'a few timeouts are normal');
    for (let i = 0; i < LOST_AFTER_TIMEOUTS; i++) h.noteTimeout();
    h.noteReply();
    assert.equal(h.check(3, state(20)), undefined, 'one reply: not cut off');
    for (let i = 0; i < LOST_AFTER_TIMEOUTS; i++) h.noteTimeout();
    assert.equal(h.check(4, state(20)), 'silent');
    assert.equal(h.check(5, state(0)), undefined, 'the next attempt waits HEAL_MIN_INTERVAL_MS');
    assert.equal(h.check(4 + HEAL_MIN_INTERVAL_MS, state(0)), 'empty');
    const merged = h.saved(table(3));
    assert.equal(merged?.nodes.length, 67, 'snapshot first, then the saved table');
  });
});

describe('a node that lost its table rejoins on its own', () => {
  let net: Testnet;
  let dht: Dht | undefined;

  before(async () => {
    net = await createTestnet(12, { node: { ipv6: false } });
  });

  after(async () => {
    await dht?.close();
    await net.destroy();
  });

  it('from its last healthy snapshot, with the router gone', async () => {
    dht = new Dht({
      host: '127.0.0.1',
      port: 0,
      ipv6: false,
      bootstrap: net.bootstrap,
      maintenanceIntervalMs: 100,
    });
    const events: DhtEvents['heal'][] = [];
    dht.events.on('heal', (e) => events.push(e));
    assert.ok((await dht.start()).ok);
    await dht.findNode(new Uint8Array(20).fill(9));
    await new Promise((r) => setTimeout(r, 250)); // a tick with replies: the snapshot
    assert.ok(dht.table.size >= 8, `joined with ${dht.table.size} contacts`);
    // The router goes away, then everything the node knew is wiped (as after a long suspend).
    await (net.nodes[0] as Dht).close();
    for (const n of [...dht.table.nodes()]) dht.table.remove(n.id);
    assert.equal(dht.table.size, 0);
    const rejoined = new Promise<DhtEvents['heal']>((resolve) => {
      const off = dht?.events.on('heal', (e) => {
        if (e.phase === 'lost') return;
        off?.();
        resolve(e);
      });
    });
    const timeout = AbortSignal.timeout(10_000);
    const end = await Promise.race([rejoined, once(timeout, 'abort').then(() => undefined)]);
    assert.ok(end, `no rejoin within 10 s; events ${JSON.stringify(events)}`);
    assert.equal(end.phase, 'rejoined');
    assert.equal(end.reason, 'empty');
    assert.ok(dht.table.size >= 5, `table after healing: ${dht.table.size}`);
    assert.equal(events[0]?.phase, 'lost');
  });
});
