import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId, commonPrefixLength, compareDistance, randomIdWithPrefix } from '../../src/kademlia/id.js';
import { type Contact, GOOD_FOR_MS, RecordMemo, RoutingTable } from '../../src/kademlia/routing-table.js';
import type { Address } from '../../src/transport/address.js';
import { bytesToIpv4, bytesToIpv6 } from '../../src/transport/ip.js';
import { SeededRandom } from '../../src/util/random.js';

const random = new SeededRandom(99);
const local = asNodeId(new Uint8Array(20)); // all zeros: bucket i holds ids whose first set bit is i
let hostCounter = 0;

/** A public-looking address, each in its own /24 unless a subnet is given. */
function addr(subnet?: string, port = 6881): Address {
  hostCounter++;
  const host = subnet
    ? `${subnet}.${hostCounter % 250}`
    : `8.${(hostCounter >> 8) & 255}.${hostCounter & 255}.1`;
  return { host, port, family: 4 };
}

function contactIn(bucket: number, address = addr()): Contact {
  return { id: randomIdWithPrefix(random, local, bucket), address };
}

describe('routing table', () => {
  it('splits only the bucket covering our own id', () => {
    const table = new RoutingTable(local, { k: 2 });
    // Far bucket (prefix 0) fills to k and stays one bucket: the extra is rejected, never split.
    for (let i = 0; i < 3; i++) table.observe(contactIn(0), false, 0);
    assert.equal(table.bucketCount, 2, 'adding to the covering bucket split it once');
    assert.equal(table.size, 2);
    const far = table.observe(contactIn(0), false, 0);
    assert.deepEqual(far, { action: 'rejected', reason: 'full' });
    // Nodes close to us keep splitting the last bucket.
    for (let depth = 1; depth < 6; depth++) {
      table.observe(contactIn(depth), false, 0);
      table.observe(contactIn(depth), false, 0);
    }
    assert.ok(table.bucketCount >= 6);
    for (const node of table.nodes()) {
      const index = table.bucketIndex(node.id);
      assert.ok(index === table.bucketCount - 1 || commonPrefixLength(node.id, local) === index);
    }
  });

  it('tracks good, questionable and bad states with the 15-minute rule', () => {
    const table = new RoutingTable(local, { k: 8 });
    const c = contactIn(3);
    table.observe(c, true, 0);
    const node = table.get(c.id);
    assert.ok(node);
    assert.equal(table.state(node, GOOD_FOR_MS - 1), 'good');
    assert.equal(table.state(node, GOOD_FOR_MS), 'questionable');
    // A query from a node that once answered keeps it good. (get returns a snapshot: ask again.)
    table.observe(c, false, GOOD_FOR_MS + 5);
    assert.equal(table.state(node, GOOD_FOR_MS + 10), 'questionable', 'the old snapshot is unchanged');
    const later = table.get(c.id);
    assert.ok(later);
    assert.equal(table.state(later, GOOD_FOR_MS + 10), 'good');
    table.failed(c.id);
    assert.equal(table.get(c.id)?.failures, 1);
    table.failed(c.id);
    assert.equal(table.get(c.id), undefined, 'two failures in a row make it bad and remove it');
  });

  it('replaces a bad node in a full bucket', () => {
    const table = new RoutingTable(local, { k: 2, badAfterFailures: 3 });
    table.observe(contactIn(1), true, 0); // splits to reach bucket 1
    const a = contactIn(0);
    const b = contactIn(0);
    table.observe(a, true, 0);
    table.observe(b, true, 0);
    for (let i = 0; i < 2; i++) table.failed(a.id);
    assert.ok(table.get(a.id), 'not yet bad');
    table.failed(a.id);
    // bad nodes are removed on the third failure; fill again and make b bad without removal path
    const c = contactIn(0);
    const result = table.observe(c, true, 1);
    assert.equal(result.action, 'added');
    assert.ok(table.get(c.id));
  });

  it('asks to ping the stalest questionable node when a full bucket meets a new good node', () => {
    const table = new RoutingTable(local, { k: 2 });
    table.observe(contactIn(1), true, 0);
    const old = contactIn(0);
    const recent = contactIn(0);
    table.observe(old, true, 0);
    table.observe(recent, true, 10 * 60_000);
    const now = GOOD_FOR_MS + 60_000; // old is questionable, recent still good
    const newcomer = contactIn(0);
    const result = table.observe(newcomer, true, now);
    assert.equal(result.action, 'cached');
    assert.ok(result.action === 'cached' && result.ping);
    if (result.action === 'cached') assert.deepEqual(result.ping?.id, old.id);
    // The ping fails: the old node goes and the cached newcomer takes its place.
    const outcome = table.failed(old.id);
    assert.deepEqual(outcome?.promoted?.id, newcomer.id);
    assert.ok(table.get(newcomer.id));
    assert.equal(table.get(old.id), undefined);
  });

  it('discards a newcomer when the bucket is full of good nodes, keeping it as a replacement', () => {
    const table = new RoutingTable(local, { k: 2 });
    table.observe(contactIn(1), true, 0);
    table.observe(contactIn(0), true, 0);
    table.observe(contactIn(0), true, 0);
    const result = table.observe(contactIn(0), true, 1000);
    assert.deepEqual(result, { action: 'cached', bucket: 0 });
    assert.equal(table.describe(1000)[0]?.replacements, 1);
  });

  it('allows one node per IP and a few per /24 per bucket; loopback is exempt', () => {
    const table = new RoutingTable(local, { k: 8, maxPerSubnetPerBucket: 2 });
    const a = contactIn(0, { host: '9.9.9.9', port: 1, family: 4 });
    assert.equal(table.observe(a, true, 0).action, 'added');
    const sameIp = contactIn(0, { host: '9.9.9.9', port: 2, family: 4 });
    assert.deepEqual(table.observe(sameIp, true, 0), { action: 'rejected', reason: 'same-ip' });
    assert.equal(
      table.observe(contactIn(0, { host: '9.9.9.10', port: 1, family: 4 }), true, 0).action,
      'added',
    );
    assert.deepEqual(table.observe(contactIn(0, { host: '9.9.9.11', port: 1, family: 4 }), true, 0), {
      action: 'rejected',
      reason: 'subnet-limit',
    });
    for (let port = 1; port <= 5; port++) {
      const r = table.observe(contactIn(0, { host: '127.0.0.1', port, family: 4 }), true, 0);
      assert.equal(r.action, 'added', 'loopback nodes share an IP in testnets');
    }
  });

  it('keeps the known node when its id shows up from another address', () => {
    const table = new RoutingTable(local);
    const c = contactIn(4);
    table.observe(c, true, 0);
    const r = table.observe({ id: c.id, address: addr() }, true, 1);
    assert.equal(r.action, 'rejected');
    assert.deepEqual(table.get(c.id)?.address, c.address);
  });

  it('returns the closest nodes exactly as a brute-force sort would', () => {
    const table = new RoutingTable(asNodeId(random.bytes(20)), { k: 8 });
    const all: Contact[] = [];
    for (let i = 0; i < 2000; i++) {
      const c = { id: asNodeId(random.bytes(20)), address: addr() };
      if (table.observe(c, true, 0).action === 'added') all.push(c);
    }
    for (const node of table.nodes()) assert.ok(all.some((c) => compareDistance(c.id, c.id, node.id) === 0));
    for (let trial = 0; trial < 50; trial++) {
      const target = random.bytes(20);
      const expected = [...table.nodes()].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8);
      assert.deepEqual(
        table.closest(target, 8).map((n) => n.id),
        expected.map((n) => n.id),
      );
    }
  });

  it('reports buckets idle for 15 minutes as stale', () => {
    const table = new RoutingTable(local, { k: 8 }, 0);
    table.observe(contactIn(0), true, 0);
    assert.deepEqual(table.staleBuckets(GOOD_FOR_MS - 1), []);
    assert.deepEqual(table.staleBuckets(GOOD_FOR_MS), [0]);
    table.touchBucket(0, GOOD_FOR_MS);
    assert.deepEqual(table.staleBuckets(GOOD_FOR_MS + 1), []);
  });

  it('exports every node for a later import', () => {
    const table = new RoutingTable(local, { k: 8 });
    for (let i = 0; i < 5; i++) table.observe(contactIn(i), true, 0);
    const exported = table.export((b) => Buffer.from(b).toString('hex'));
    assert.equal(exported.id, '00'.repeat(20));
    assert.equal(exported.nodes.length, 5);
    assert.ok(exported.nodes.every((n) => n.id.length === 40 && n.port === 6881));
  });

  it('works unchanged with 256-bit ids', () => {
    const id = asNodeId(random.bytes(32));
    const table = new RoutingTable(id, { k: 4 });
    for (let i = 0; i < 500; i++) table.observe({ id: asNodeId(random.bytes(32)), address: addr() }, true, 0);
    assert.ok(table.size > 4);
    const target = random.bytes(32);
    const closest = table.closest(target, 4);
    const brute = [...table.nodes()].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 4);
    assert.deepEqual(closest, brute);
    assert.equal(
      table.observe({ id: asNodeId(random.bytes(20)), address: addr() }, true, 0).action,
      'rejected',
    );
  });

  it('marks a node reachable only when it answers a query it did not provoke (NAT window)', () => {
    const table = new RoutingTable(local, { k: 8, natWindowMs: 120_000 });
    const referred = contactIn(2);
    table.observe(referred, true, 0); // first heard of as an answer to our query
    assert.equal(table.get(referred.id)?.reachable, true);

    const querier = contactIn(3);
    table.observe(querier, false, 1_000); // it queried us
    assert.equal(table.get(querier.id)?.reachable, false);
    table.observe(querier, true, 2_000); // our ping crossed the mapping its query opened
    assert.equal(table.get(querier.id)?.reachable, false, 'an answer inside the NAT window proves nothing');
    table.observe(querier, true, 1_000 + 120_001); // answered long after its last query
    assert.equal(table.get(querier.id)?.reachable, true);
  });

  it('packs the closest contacts as id, IP and port, filtered like closest()', () => {
    const table = new RoutingTable(asNodeId(random.bytes(20)), { k: 8 });
    for (let i = 0; i < 300; i++)
      table.observe({ id: asNodeId(random.bytes(20)), address: addr() }, i % 3 !== 0, 0);
    for (let i = 0; i < 40; i++) {
      const address: Address = { host: `2001:db8:${i.toString(16)}::${i + 1}`, port: 6000 + i, family: 6 };
      table.observe({ id: asNodeId(random.bytes(20)), address }, true, 0);
    }
    for (let trial = 0; trial < 20; trial++) {
      const target = random.bytes(20);
      for (const family of [4, 6] as const) {
        const options = { family, answered: true, reachableFirst: true };
        const expected = table.closest(target, 8, options);
        assert.ok(expected.every((n) => n.address.family === family && n.lastResponseAt >= 0));
        const packed = table.closestPacked(target, 8, options);
        const ipLength = family === 4 ? 4 : 16;
        const size = 20 + ipLength + 2;
        assert.equal(packed.length, expected.length * size);
        expected.forEach((n, i) => {
          const at = i * size;
          assert.deepEqual(packed.subarray(at, at + 20), n.id);
          const ip = packed.subarray(at + 20, at + 20 + ipLength);
          const host = family === 4 ? bytesToIpv4(ip) : bytesToIpv6(ip);
          assert.equal(host, n.address.host);
          assert.equal(
            (packed[at + 20 + ipLength] as number) * 256 + (packed[at + 21 + ipLength] as number),
            n.address.port,
          );
        });
      }
    }
  });

  it('hands out reachable contacts first among the 2k closest', () => {
    const table = new RoutingTable(local, { k: 4 });
    // Queriers only (not reachable), then referred contacts (reachable), all in bucket 0.
    const queriers = Array.from({ length: 4 }, () => contactIn(0));
    for (const c of queriers) table.observe(c, false, 0);
    for (const c of queriers) table.observe(c, true, 1); // answered inside the NAT window: unproven
    const target = randomIdWithPrefix(random, local, 0);
    const plain = table.closest(target, 4, { answered: true });
    assert.equal(plain.length, 4);
    assert.ok(plain.every((n) => !n.reachable));
    const ordered = table.closest(target, 4, { answered: true, reachableFirst: true });
    assert.deepEqual(
      ordered.map((n) => n.address.host),
      plain.map((n) => n.address.host),
      'with no proven contact, the closest answered ones still go out',
    );
    // Proven contacts one bucket farther (within the 2k window) now go first.
    const referred = Array.from({ length: 4 }, () => contactIn(1));
    for (const c of referred) table.observe(c, true, 2);
    const proven = table.closest(target, 4, { answered: true, reachableFirst: true });
    assert.deepEqual(proven.map((n) => n.address.host).sort(), referred.map((c) => c.address.host).sort());
    assert.deepEqual(table.closest(target, 4, { answered: true }), plain, 'plain order is by distance only');
  });

  it('keeps every contact intact while records are released and reused', () => {
    const table = new RoutingTable(asNodeId(random.bytes(20)), { k: 4, badAfterFailures: 2 });
    const addressOf = new Map<string, Address>();
    const ids: Contact[] = [];
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    for (let step = 0; step < 5000; step++) {
      const roll = random.int(10);
      if (roll < 6 || ids.length === 0) {
        const c = { id: asNodeId(random.bytes(20)), address: addr() };
        addressOf.set(hex(c.id), c.address);
        ids.push(c);
        table.observe(c, roll < 4, step);
      } else if (roll < 9) {
        table.failed((ids[random.int(ids.length)] as Contact).id);
      } else {
        table.remove((ids[random.int(ids.length)] as Contact).id);
      }
    }
    let n = 0;
    for (const node of table.nodes()) {
      n++;
      assert.deepEqual(node.address, addressOf.get(hex(node.id)), 'a record kept its own address');
      assert.deepEqual(table.get(node.id)?.address, node.address);
      assert.deepEqual(table.getByAddress(node.address)?.id, node.id);
    }
    assert.equal(n, table.size);
    assert.ok(n > 20, `only ${n} contacts survived`);
  });

  it('compares IPv6 addresses as addresses, not as text, and rejects a host of the wrong family', () => {
    const table = new RoutingTable(local, { k: 8 });
    const c = {
      id: randomIdWithPrefix(random, local, 1),
      address: { host: '2001:db8::7', port: 1, family: 6 as const },
    };
    assert.equal(table.observe(c, true, 0).action, 'added');
    assert.deepEqual(table.getByAddress({ host: '2001:0db8:0:0:0:0:0:7', port: 1, family: 6 })?.id, c.id);
    assert.equal(table.get(c.id)?.address.host, '2001:db8::7');
    assert.deepEqual(
      table.observe(
        { id: randomIdWithPrefix(random, local, 2), address: { host: '::1', port: 2, family: 4 } },
        true,
        0,
      ),
      {
        action: 'rejected',
        reason: 'bad-address',
      },
    );
  });
});

describe('routing table memo (closestMapped)', () => {
  it('remakes a value only after its contact changed, and never hands out another contact’s', () => {
    const table = new RoutingTable(local, { k: 8, replacements: 0 });
    const contacts = Array.from({ length: 8 }, () => contactIn(3));
    for (const c of contacts) table.observe(c, true, 1);
    const memo = new RecordMemo<string>();
    const target = contacts[0]?.id as Uint8Array;
    const label = (n: { id: Uint8Array; lastResponseAt: number; failures: number }) =>
      `${toHexString(n.id)}@${n.lastResponseAt}/${n.failures}`;
    const fresh = () => table.closest(target, 8).map(label);
    const memoised = () => table.closestMapped(target, 8, {}, label, memo);

    assert.deepEqual(memoised(), fresh());
    assert.deepEqual([memo.made, memo.reused], [8, 0]);
    assert.deepEqual(memoised(), fresh());
    assert.deepEqual([memo.made, memo.reused], [8, 8]);

    table.observe(contacts[1] as Contact, true, 50); // answered again: new lastResponseAt
    table.failed((contacts[2] as Contact).id); // one failure
    assert.deepEqual(memoised(), fresh());
    assert.equal(memo.made, 10, 'the two changed contacts, and only they, were remade');

    // A contact leaves and a new one takes its record: the new one is described, not the old.
    table.remove((contacts[3] as Contact).id);
    table.observe(contactIn(3), true, 60);
    assert.deepEqual(memoised(), fresh());
    assert.equal(memo.made, 11);

    assert.throws(() => new RoutingTable(local).closestMapped(target, 8, {}, label, memo), /one table/);
  });
});

describe('routing table with public keys (the overlay)', () => {
  it('keeps a key with each contact, hands it out, and refuses contacts without one', () => {
    const self = asNodeId(new Uint8Array(32).fill(1));
    const table = new RoutingTable(self, { k: 20, keyBytes: 33 });
    const key = new Uint8Array(33).map((_, i) => i + 2);
    const id = asNodeId(new Uint8Array(32).fill(0x80));
    const address = { host: '8.8.8.8', port: 9, family: 4 as const };
    assert.deepEqual(table.observe({ id, address }, true, 0), { action: 'rejected', reason: 'bad-key' });
    assert.deepEqual(table.observe({ id, address, key: key.subarray(1) }, true, 0), {
      action: 'rejected',
      reason: 'bad-key',
    });
    assert.equal(table.observe({ id, address, key }, true, 0).action, 'added');
    assert.deepEqual(table.get(id)?.key, key);
    assert.deepEqual(table.closest(id, 1)[0]?.key, key);
    assert.equal(table.export(toHexString).nodes[0]?.key, toHexString(key));
  });
});

function toHexString(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
