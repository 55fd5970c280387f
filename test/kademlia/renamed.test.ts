import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId, randomIdWithPrefix } from '../../src/kademlia/id.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import type { Address } from '../../src/transport/address.js';
import { SeededRandom } from '../../src/util/random.js';

const random = new SeededRandom(15);
const local = asNodeId(new Uint8Array(20));
let hosts = 0;

function addr(): Address {
  hosts++;
  return { host: `9.${(hosts >> 8) & 255}.${hosts & 255}.1`, port: 6881, family: 4 };
}

function contactIn(bucket: number, address = addr()): Contact {
  return { id: randomIdWithPrefix(random, local, bucket), address };
}

const ids = (table: RoutingTable): string[] =>
  table.closest(local, 1000).map((n) => Buffer.from(n.id).toString('hex'));
const hex = (c: Contact): string => Buffer.from(c.id).toString('hex');

/**
 * A node that changes its id keeps its address (a restart, BEP 42 once it learns its address).
 * A bucket with room never pings its members, so without a rule the old record stays forever
 * and turns the node away under its new id as a second node at one address.
 */
describe('an address that answers under a new id', () => {
  it('replaces its old record in a bucket with room, even in another bucket', () => {
    const table = new RoutingTable(local, { k: 8, wideBuckets: [16, 8] });
    for (let i = 0; i < 3; i++) table.observe(contactIn(2), true, 0);
    const old = contactIn(0);
    table.observe(old, true, 0);
    const renamed = contactIn(1, old.address);
    const result = table.observe(renamed, true, 1000);
    assert.equal(result.action, 'added');
    assert.ok(ids(table).includes(hex(renamed)), 'the new id is in');
    assert.ok(!ids(table).includes(hex(old)), 'the old id is gone');
    assert.deepEqual(table.getByAddress(old.address)?.id, renamed.id);
    assert.equal(table.size, 4);
  });

  it('a query alone renames nothing: anyone can forge its source address', () => {
    const table = new RoutingTable(local, { k: 8 });
    const old = contactIn(0);
    table.observe(old, true, 0);
    const forged = contactIn(0, old.address);
    assert.deepEqual(table.observe(forged, false, 1000), { action: 'rejected', reason: 'same-ip' });
    assert.deepEqual(table.getByAddress(old.address)?.id, old.id);
  });

  it('another port at the same IP is another node: nothing is renamed', () => {
    const table = new RoutingTable(local, { k: 8, oneNodePerIp: false });
    const old = contactIn(0);
    table.observe(old, true, 0);
    const neighbour = contactIn(0, { ...old.address, port: old.address.port + 1 });
    assert.equal(table.observe(neighbour, true, 1000).action, 'added');
    assert.equal(table.size, 2);
    assert.deepEqual(table.getByAddress(old.address)?.id, old.id);
  });

  it('in a full bucket, the vacated place goes to a waiting replacement', () => {
    const table = new RoutingTable(local, { k: 2 });
    const members = [contactIn(0), contactIn(0)];
    for (const m of members) table.observe(m, true, 0);
    const waiting = contactIn(0);
    assert.equal(table.observe(waiting, true, 0).action, 'cached');
    // The first member's address now answers under an id that falls in another bucket.
    const renamed = contactIn(1, members[0]!.address);
    assert.equal(table.observe(renamed, true, 1000).action, 'added');
    const now = ids(table);
    assert.ok(!now.includes(hex(members[0]!)), 'the old record is gone');
    assert.ok(now.includes(hex(waiting)), 'the replacement took its place');
    assert.ok(now.includes(hex(renamed)) && now.includes(hex(members[1]!)));
  });

  it('a stale replacement at that address is forgotten too', () => {
    const table = new RoutingTable(local, { k: 1 });
    table.observe(contactIn(0), true, 0);
    const spare = contactIn(0);
    assert.equal(table.observe(spare, true, 0).action, 'cached');
    const renamed = contactIn(3, spare.address);
    assert.equal(table.observe(renamed, true, 1000).action, 'added');
    // Had the stale spare stayed, the member's failure would promote it next to its own address.
    const member = table.closest(local, 10).find((n) => n.address.host !== spare.address.host)!;
    table.failed(member.id);
    table.failed(member.id);
    assert.ok(!ids(table).includes(hex(spare)), 'the stale spare was never promoted');
  });
});
