import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressIndex, ipKeyOf } from '../../src/kademlia/address-index.js';
import { asNodeId, randomIdWithPrefix } from '../../src/kademlia/id.js';
import { RoutingTable } from '../../src/kademlia/routing-table.js';
import type { Address } from '../../src/transport/address.js';
import { ipv4ToBytes, ipv6ToBytes } from '../../src/transport/ip.js';
import { SeededRandom } from '../../src/util/random.js';

const local = asNodeId(new Uint8Array(20));

function ipKey(host: string): ReturnType<typeof ipKeyOf> {
  const bytes = new Uint8Array(16);
  return host.includes(':')
    ? ipKeyOf(ipv6ToBytes(host, bytes) as Uint8Array, 0, 6)
    : ipKeyOf(ipv4ToBytes(host, bytes) as Uint8Array, 0, 4);
}

describe('address index', () => {
  it('finds a record by IP and port, for both families, and keeps IPs shared by several records', () => {
    const ports = [6881, 6882, 51413];
    const index = new AddressIndex((r) => ports[r] as number);
    index.hold(ipKey('203.0.113.7'), 0);
    index.hold(ipKey('203.0.113.7'), 1);
    index.hold(ipKey('2001:db8::7'), 2);
    assert.equal(index.heldAt(ipKey('203.0.113.7'), 6882), 1);
    assert.equal(index.heldAt(ipKey('203.0.113.7'), 6881), 0);
    assert.equal(index.heldAt(ipKey('203.0.113.8'), 6881), -1);
    assert.equal(index.heldAt(ipKey('2001:db8::7'), 51413), 2);
    assert.equal(index.heldAt(ipKey('2001:db8::7'), 6881), -1);
    // The high octet sets the sign bit of the v4 key: still one distinct key per address.
    assert.notEqual(ipKey('255.0.0.1'), ipKey('127.0.0.1'));
    index.drop(ipKey('203.0.113.7'), 0);
    assert.equal(index.holdsIp(ipKey('203.0.113.7')), true);
    assert.equal(index.heldAt(ipKey('203.0.113.7'), 6881), -1);
    index.drop(ipKey('203.0.113.7'), 1);
    assert.equal(index.holdsIp(ipKey('203.0.113.7')), false);
    index.addSpare(ipKey('198.51.100.1'), 6881);
    index.addSpare(ipKey('198.51.100.1'), 6881);
    index.dropSpare(ipKey('198.51.100.1'), 6881);
    assert.equal(index.hasSpare(ipKey('198.51.100.1'), 6881), true);
    index.dropSpare(ipKey('198.51.100.1'), 6881);
    assert.equal(index.hasSpare(ipKey('198.51.100.1'), 6881), false);
  });

  it('agrees with a scan of the table over thousands of random changes', () => {
    const random = new SeededRandom(5);
    const table = new RoutingTable(local, { k: 4, wideBuckets: [4, 2], exemptLocal: true });
    // Few IPs and ports, some of them local (exempt from one node per IP), so addresses collide.
    const address = (): Address => {
      const local = random.int(4) === 0;
      const host = local ? `10.0.0.${1 + random.int(6)}` : `8.8.${random.int(3)}.${1 + random.int(20)}`;
      return { host, port: 6881 + random.int(3), family: 4 };
    };
    const ids: Uint8Array[] = [];
    for (let step = 0; step < 4000; step++) {
      const op = random.int(10);
      const now = step * 1000;
      if (op < 6) {
        const id = randomIdWithPrefix(random, local, random.int(6));
        ids.push(id);
        table.observe({ id, address: address() }, random.int(2) === 0, now);
      } else if (op < 9 && ids.length > 0) table.failed(ids[random.int(ids.length)] as Uint8Array);
      else if (ids.length > 0) table.remove(ids[random.int(ids.length)] as Uint8Array);
      const held = [...table.nodes()];
      const at = new Map<string, Uint8Array>();
      for (const n of held) {
        const key = `${n.address.host}:${n.address.port}`;
        assert.equal(at.has(key), false, `step ${step}: two contacts at ${key}`);
        at.set(key, n.id);
      }
      const publicIps = held.filter((n) => !n.address.host.startsWith('10.')).map((n) => n.address.host);
      assert.equal(new Set(publicIps).size, publicIps.length, `step ${step}: two contacts at one public IP`);
      const probe = address();
      const found = table.getByAddress(probe);
      const expected = at.get(`${probe.host}:${probe.port}`);
      assert.deepEqual(found?.id, expected, `step ${step}: getByAddress(${probe.host}:${probe.port})`);
    }
    assert.ok(table.size > 10, `the table held ${table.size} contacts at the end`);
  });

  it('does not promote a replacement whose IP a contact took while it waited', () => {
    const table = new RoutingTable(local, { k: 2 });
    const at = (host: string, port = 6881): Address => ({ host, port, family: 4 });
    // Two far contacts fill bucket 0 (the covering bucket splits first).
    const a0 = { id: randomIdWithPrefix(new SeededRandom(1), local, 0), address: at('8.1.0.1') };
    const a1 = { id: randomIdWithPrefix(new SeededRandom(2), local, 0), address: at('8.1.0.2') };
    const deep = { id: randomIdWithPrefix(new SeededRandom(3), local, 4), address: at('8.1.0.3') };
    for (const c of [a0, a1, deep]) table.observe(c, true, 0);
    const spare = { id: randomIdWithPrefix(new SeededRandom(4), local, 0), address: at('8.9.9.9') };
    assert.equal(table.observe(spare, true, 0).action, 'cached');
    // Another node at the replacement's IP joins a deeper bucket (a query, so nothing is renamed).
    const other = { id: randomIdWithPrefix(new SeededRandom(5), local, 3), address: at('8.9.9.9', 7000) };
    assert.equal(table.observe(other, false, 0).action, 'added');
    const out = table.failed(a0.id);
    assert.ok(out, 'the failing contact went (a replacement was waiting)');
    assert.equal(out.promoted, undefined, 'the replacement was not promoted');
    const atIp = [...table.nodes()].filter((n) => n.address.host === '8.9.9.9');
    assert.equal(atIp.length, 1, 'one contact per public IP');
  });
});
