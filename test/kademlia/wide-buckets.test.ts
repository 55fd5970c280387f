import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId, randomIdWithPrefix } from '../../src/kademlia/id.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import { seedTables } from '../../src/sim/fast-build.js';
import type { Address } from '../../src/transport/address.js';
import { SeededRandom } from '../../src/util/random.js';
import { DEEP_BUCKETS, LatencyRouting, WIDE_BUCKETS } from '../../src/node/latency.js';

const random = new SeededRandom(5);
const local = asNodeId(new Uint8Array(20));
let hosts = 0;

function addr(): Address {
  hosts++;
  return { host: `8.${(hosts >> 8) & 255}.${hosts & 255}.1`, port: 6881, family: 4 };
}

function contactIn(bucket: number): Contact {
  return { id: randomIdWithPrefix(random, local, bucket), address: addr() };
}

/** Contacts per bucket index, as the table describes them. */
function sizes(table: RoutingTable): number[] {
  return table.describe(0).map((b) => b.nodes);
}

describe('wide buckets', () => {
  it('the farthest buckets hold k times their multiplier, the rest k', () => {
    const table = new RoutingTable(local, { k: 2, wideBuckets: [4, 2] });
    assert.equal(table.bucketLimit(0), 8);
    assert.equal(table.bucketLimit(1), 4);
    assert.equal(table.bucketLimit(2), 2);
    for (let depth = 0; depth < 6; depth++)
      for (let i = 0; i < 10; i++) table.observe(contactIn(depth), false, 0);
    const s = sizes(table);
    assert.deepEqual(s.slice(0, 5), [8, 4, 2, 2, 2]);
    // A full wide bucket turns newcomers away like any full bucket.
    assert.deepEqual(table.observe(contactIn(0), false, 0), { action: 'rejected', reason: 'full' });
  });

  it('without the option every bucket holds k (the BEP 5 table is unchanged)', () => {
    const table = new RoutingTable(local, { k: 2 });
    for (let depth = 0; depth < 4; depth++)
      for (let i = 0; i < 10; i++) table.observe(contactIn(depth), false, 0);
    assert.deepEqual(sizes(table).slice(0, 3), [2, 2, 2]);
  });

  it('rejects multipliers that are not small positive integers', () => {
    assert.throws(() => new RoutingTable(local, { wideBuckets: [0] }), /wideBuckets/);
    assert.throws(() => new RoutingTable(local, { wideBuckets: [1.5] }), /wideBuckets/);
  });

  it("the fast build seeds each depth up to the table's own bucket limit", () => {
    const table = new RoutingTable(local, { k: 2, wideBuckets: [4, 2] });
    const contacts: Contact[] = [];
    for (let depth = 0; depth < 5; depth++) for (let i = 0; i < 12; i++) contacts.push(contactIn(depth));
    seedTables(
      [{ id: local, table, limit: (d) => table.bucketLimit(d) }],
      contacts,
      new SeededRandom(1),
      0,
      2,
    );
    assert.deepEqual(sizes(table).slice(0, 4), [8, 4, 2, 2]);
  });
});

describe('the latency techniques that set bucket widths', () => {
  it('deep-buckets is on by default and widens every bucket down to depth 13; wide-buckets only the four farthest', () => {
    assert.deepEqual(new LatencyRouting(['wide-buckets']).wideBuckets, WIDE_BUCKETS);
    assert.equal(new LatencyRouting(['adaptive-timeouts']).wideBuckets, undefined);
    assert.deepEqual(new LatencyRouting().wideBuckets, DEEP_BUCKETS);
    const deep = new LatencyRouting(['deep-buckets']).wideBuckets!;
    assert.deepEqual(deep, DEEP_BUCKETS);
    assert.equal(deep.length, 14);
    assert.ok(
      deep.every((m, i) => m >= 2 && m >= (WIDE_BUCKETS[i] ?? 1)),
      'never narrower than wide-buckets',
    );
    // The table accepts it (multipliers within MAX_WIDE_BUCKET).
    const table = new RoutingTable(local, { wideBuckets: deep });
    assert.equal(table.bucketLimit(13), 16);
    assert.equal(table.bucketLimit(14), 8);
  });
});
