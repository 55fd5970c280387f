import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import { MIN_RTT_SAMPLES, MIN_SLOW_MS, RttTracker } from '../../src/kademlia/rtt.js';
import type { Address } from '../../src/transport/address.js';

const at = (i: number): Address => ({ host: `10.0.${i >> 8}.${i & 255}`, port: 6881, family: 4 });

describe('RttTracker', () => {
  it('smooths per address and derives a slow deadline within bounds', () => {
    const t = new RttTracker(500);
    assert.equal(t.slowAfterMs(at(1)), 500, 'nothing measured: the fixed ceiling');
    for (let i = 0; i < 20; i++) t.observe(at(1), 40);
    const srtt = t.srtt(at(1)) as number;
    assert.ok(Math.abs(srtt - 40) < 1, `srtt ${srtt}`);
    // A steady 40 ms contact is slow long before 500 ms, but never before the floor.
    assert.equal(t.slowAfterMs(at(1)), MIN_SLOW_MS);
    for (let i = 0; i < 20; i++) t.observe(at(2), 300);
    const slow2 = t.slowAfterMs(at(2));
    assert.ok(slow2 >= 300 && slow2 <= 500, `slow after ${slow2}`);
    for (let i = 0; i < 20; i++) t.observe(at(3), 5_000);
    assert.equal(t.slowAfterMs(at(3)), 500, 'never above the ceiling');
  });

  it('gives strangers the network-wide p90 once it has enough samples', () => {
    const t = new RttTracker(500);
    for (let i = 0; i < MIN_RTT_SAMPLES - 1; i++) t.observe(at(i), 200);
    assert.equal(t.quantile(0.9), undefined);
    assert.equal(t.slowAfterMs(at(999)), 500);
    t.observe(at(100), 200);
    assert.equal(t.quantile(0.9), 200);
    assert.equal(t.slowAfterMs(at(999)), 200);
  });

  it('keeps at most maxEntries addresses, forgetting the least recently heard', () => {
    const t = new RttTracker(500, 3);
    for (let i = 0; i < 3; i++) t.observe(at(i), 10 + i);
    t.observe(at(0), 10); // heard again: now the most recent
    t.observe(at(3), 13);
    assert.equal(t.size, 3);
    assert.equal(t.srtt(at(1)), undefined, 'the least recently heard went first');
    assert.notEqual(t.srtt(at(0)), undefined);
    t.observe(at(4), Number.NaN);
    t.observe(at(4), -1);
    assert.equal(t.srtt(at(4)), undefined, 'nonsense samples are ignored');
  });
});

describe('proximity neighbour selection (routing table latencyOf)', () => {
  const local = new Uint8Array(20);
  local[0] = 0x80;
  const contact = (i: number): Contact => {
    const id = new Uint8Array(20);
    id[0] = i; // all in bucket 0 (first bit differs from ours)
    return { id: asNodeId(id), address: at(i) };
  };
  const rtts = new Map<string, number>([
    [at(1).host, 300],
    [at(2).host, 100],
    [at(3).host, 100],
    [at(4).host, 80],
  ]);

  it('a much faster newcomer replaces the slowest member of a full bucket', () => {
    const table = new RoutingTable(asNodeId(local), { k: 2, latencyOf: (a) => rtts.get(a.host) });
    table.observe(contact(1), true, 0);
    table.observe(contact(2), true, 0);
    const r = table.observe(contact(3), true, 0);
    assert.equal(r.action, 'added');
    assert.equal(r.action === 'added' ? r.replaced?.address.host : undefined, at(1).host);
    // 80 ms is not twice as fast as 100 ms: the newcomer waits as a replacement.
    assert.equal(table.observe(contact(4), true, 0).action, 'cached');
    assert.deepEqual([...table.nodes()].map((n) => n.address.host).sort(), [at(2).host, at(3).host]);
  });

  it('without latencyOf a full bucket of good nodes keeps them (BEP 5)', () => {
    const table = new RoutingTable(asNodeId(local), { k: 2 });
    table.observe(contact(1), true, 0);
    table.observe(contact(2), true, 0);
    assert.equal(table.observe(contact(3), true, 0).action, 'cached');
  });
});
