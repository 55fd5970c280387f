// The generic preference hooks BEP 42 plugs into: full buckets and lookup termination.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { lookup } from '../../src/kademlia/lookup.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import { SeededRandom } from '../../src/util/random.js';

const contact = (id: Uint8Array, i: number): Contact => ({
  id: asNodeId(id),
  address: { host: `8.${i >> 8}.${i & 255}.1`, port: 1, family: 4 },
});

describe('preference hooks', () => {
  it('a favoured node that answered replaces the stalest unfavoured one in a full bucket', () => {
    const random = new SeededRandom(3);
    const local = new Uint8Array(20).fill(0);
    const favoured = new Set<string>();
    const prefer = (c: Contact): boolean => favoured.has(c.address.host);
    const table = new RoutingTable(asNodeId(local), { k: 2, prefer });
    // All far ids (first bit 1) go to one bucket once split; fill it with unfavoured nodes.
    const far = (i: number): Contact => {
      const id = random.bytes(20);
      id[0] = (id[0] as number) | 0x80;
      return contact(id, i);
    };
    const a = far(1);
    const b = far(2);
    table.observe(a, true, 0);
    table.observe(b, true, 10);
    table.observe(contact(new Uint8Array(20).fill(1), 3), true, 10); // near: forces the split
    const unfavouredNew = far(4);
    assert.equal(table.observe(unfavouredNew, true, 20).action, 'cached');
    const good = far(5);
    favoured.add(good.address.host);
    const queriedOnly = table.observe(good, false, 20);
    assert.notEqual(queriedOnly.action, 'added', 'only a node that answered us displaces another');
    const res = table.observe(good, true, 30);
    assert.equal(res.action, 'added');
    assert.equal(res.action === 'added' && res.replaced?.address.host, a.address.host, 'the stalest went');
  });

  it('a lookup does not end on unfavoured answers and lists favoured contacts first', async () => {
    const random = new SeededRandom(4);
    const target = new Uint8Array(20);
    const all: Contact[] = [];
    for (let i = 0; i < 60; i++) all.push(contact(random.bytes(20), i));
    const favoured = new Set(all.filter((_, i) => i % 3 === 0).map((c) => c.address.host));
    const prefer = (c: Contact): boolean => favoured.has(c.address.host);
    // Every node knows every other: one hop reaches the closest of all.
    const result = await lookup({
      target,
      seeds: all.slice(0, 3),
      k: 8,
      alpha: 3,
      prefer,
      query: async () => ({ nodes: all, result: null }),
    });
    const byDistance = [...all].sort((x, y) => {
      for (let i = 0; i < 20; i++) if (x.id[i] !== y.id[i]) return (x.id[i] as number) - (y.id[i] as number);
      return 0;
    });
    const bestFavoured = byDistance.filter(prefer).slice(0, 8);
    assert.deepEqual(
      result.closest.map((c) => c.contact.address.host),
      bestFavoured.map((c) => c.address.host),
      'the 8 closest favoured contacts, not the 8 closest overall',
    );
    const without = await lookup({
      target,
      seeds: all.slice(0, 3),
      k: 8,
      alpha: 3,
      query: async () => ({ nodes: all, result: null }),
    });
    assert.deepEqual(
      without.closest.map((c) => c.contact.address.host),
      byDistance.slice(0, 8).map((c) => c.address.host),
    );
  });
});
