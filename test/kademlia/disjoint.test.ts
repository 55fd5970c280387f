import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { disjointLookup } from '../../src/kademlia/disjoint.js';
import { asNodeId, compareDistance } from '../../src/kademlia/id.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import { SeededRandom } from '../../src/util/random.js';
import { bytesToBinaryString } from '../../src/util/bytes.js';

/** A synthetic 256-bit network of routing tables; `liars` answer with each other only. */
function network(size: number, seed: number, liarFraction = 0) {
  const random = new SeededRandom(seed);
  const contacts: Contact[] = [];
  for (let i = 0; i < size; i++) {
    contacts.push({
      id: asNodeId(random.bytes(32)),
      address: { host: `8.${i >> 8}.${i & 255}.1`, port: 1, family: 4 },
    });
  }
  const liars = new Set(
    contacts.filter(() => random.float() < liarFraction).map((c) => bytesToBinaryString(c.id)),
  );
  const tables = new Map<string, RoutingTable>();
  for (const c of contacts) {
    const t = new RoutingTable(c.id, { k: 8 });
    for (const other of contacts) t.observe(other, true, 0);
    tables.set(bytesToBinaryString(c.id), t);
  }
  const liarContacts = contacts.filter((c) => liars.has(bytesToBinaryString(c.id)));
  const isLiar = (c: Contact): boolean => liars.has(bytesToBinaryString(c.id));
  return { contacts, tables, random, isLiar, liarContacts };
}

describe('disjoint lookups (S/Kademlia §4.4)', () => {
  it('never queries one contact on two paths, and with honest nodes finds the true k closest', async () => {
    const { contacts, tables, random } = network(300, 3);
    for (let trial = 0; trial < 5; trial++) {
      const target = random.bytes(32);
      const queried: string[] = [];
      const seeds = (
        tables.get(bytesToBinaryString((contacts[trial] as Contact).id)) as RoutingTable
      ).closest(target, 8);
      const result = await disjointLookup({
        target,
        seeds,
        k: 8,
        alpha: 3,
        paths: 4,
        query: async (c) => {
          queried.push(bytesToBinaryString(c.id));
          return {
            nodes: (tables.get(bytesToBinaryString(c.id)) as RoutingTable).closest(target, 8),
            result: 0,
          };
        },
      });
      assert.equal(new Set(queried).size, queried.length, 'a contact was queried twice');
      assert.equal(result.paths.length, 4);
      assert.equal(
        result.queried,
        result.paths.reduce((n, p) => n + p.queried, 0),
      );
      const truth = [...contacts].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8);
      // Disjointness costs some paths their best referrals; the union still holds the nearest node.
      assert.deepEqual(result.closest[0]?.contact.id, truth[0]?.id);
    }
  });

  it('survives an eclipse that a single path does not: more disjoint paths reach the target more often', async () => {
    const { contacts, tables, random, isLiar } = network(400, 9, 0.1);
    const honest = contacts.filter((c) => !isLiar(c));
    // Liars, and the Sybils they invent, refer only to Sybils with ids next to the target: a path
    // that asks one of them converges on the attacker's nodes.
    const fakes = new Set<string>();
    const sybils = (target: Uint8Array): Contact[] =>
      Array.from({ length: 8 }, (_, i) => {
        const id = target.slice();
        id[31] = random.int(256);
        id[30] = random.int(256);
        fakes.add(bytesToBinaryString(id));
        return { id: asNodeId(id), address: { host: `9.9.${i}.${random.int(250)}`, port: 1, family: 4 } };
      });
    const success = { 1: 0, 4: 0 };
    const trials = 40;
    for (let trial = 0; trial < trials; trial++) {
      const target = random.bytes(32);
      const nearestHonest = [...honest].sort((a, b) => compareDistance(target, a.id, b.id))[0] as Contact;
      const start = honest[trial % honest.length] as Contact;
      const seeds = (tables.get(bytesToBinaryString(start.id)) as RoutingTable).closest(target, 8);
      for (const d of [1, 4] as const) {
        // Success as a value lookup sees it: some path got an answer from the node holding the value.
        let reached = false;
        await disjointLookup({
          target,
          seeds,
          k: 8,
          alpha: 3,
          paths: d,
          query: async (c) => ({
            nodes:
              isLiar(c) || fakes.has(bytesToBinaryString(c.id))
                ? sybils(target)
                : (tables.get(bytesToBinaryString(c.id)) as RoutingTable).closest(target, 8),
            result: 0,
          }),
          onReply: (c) => {
            if (compareDistance(target, c.id, nearestHonest.id) === 0) reached = true;
          },
        });
        if (reached) success[d]++;
      }
    }
    assert.ok(
      success[4] > success[1],
      `d=4 found ${success[4]}/${trials}, d=1 found ${success[1]}/${trials}`,
    );
    assert.ok(success[4] >= trials * 0.6, `d=4 found only ${success[4]}/${trials}`);
  });
});
