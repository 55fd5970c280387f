import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeAddress } from '../../src/transport/address.js';
import { AddressSlab, slabKey } from '../../src/transport/address-slab.js';

const v4 = (host: string, port: number) => makeAddress(host, port);

describe('AddressSlab', () => {
  it('keys IPv4 addresses by number, distinct per IP and port; IPv6 by text', () => {
    assert.equal(slabKey(v4('1.2.3.4', 6881)), 0x01020304 * 65_536 + 6881);
    assert.equal(slabKey(v4('255.255.255.255', 65_535)), 0xffffffff * 65_536 + 65_535);
    assert.notEqual(slabKey(v4('1.2.3.4', 1)), slabKey(v4('1.2.3.4', 2)));
    assert.notEqual(slabKey(v4('1.2.3.4', 1)), slabKey(v4('1.2.3.5', 1)));
    assert.equal(slabKey(makeAddress('::1', 80)), '[::1]:80');
    // Not a dotted quad after all: the text, never a wrong number.
    assert.equal(slabKey({ host: '1.2.3', port: 5, family: 4 }), '1.2.3:5');
    assert.equal(slabKey({ host: '1.2.3.999', port: 5, family: 4 }), '1.2.3.999:5');
    assert.equal(slabKey({ host: '1.999.3.4', port: 5, family: 4 }), '1.999.3.4:5');
  });

  it('keeps each address its own fields, new ones zeroed, across growth', () => {
    const slab = new AddressSlab(2, 1000);
    for (let i = 0; i < 100; i++) {
      const slot = slab.touch(v4(`10.0.0.${i}`, 1000 + i));
      assert.equal(slab.get(slot, 0), 0);
      assert.equal(slab.get(slot, 1), 0);
      slab.set(slot, 0, i);
      slab.set(slot, 1, -i);
    }
    assert.equal(slab.size, 100);
    for (let i = 0; i < 100; i++) {
      const slot = slab.find(v4(`10.0.0.${i}`, 1000 + i));
      assert.ok(slot >= 0);
      assert.equal(slab.get(slot, 0), i);
      assert.equal(slab.get(slot, 1), -i);
    }
    assert.equal(slab.find(v4('10.0.0.1', 9)), -1, 'another port is another address');
  });

  it('forgets the least recently touched beyond its bound, and hands out its slot zeroed', () => {
    const slab = new AddressSlab(1, 3);
    const a = v4('1.1.1.1', 1);
    const b = v4('2.2.2.2', 2);
    const c = v4('3.3.3.3', 3);
    const d = v4('4.4.4.4', 4);
    slab.set(slab.touch(a), 0, 1);
    slab.set(slab.touch(b), 0, 2);
    slab.set(slab.touch(c), 0, 3);
    slab.touch(a); // a is now the most recent; b the least
    const slot = slab.touch(d);
    assert.equal(slab.get(slot, 0), 0, 'a reused slot starts at zero');
    assert.equal(slab.size, 3);
    assert.equal(slab.find(b), -1, 'b was forgotten');
    assert.equal(slab.get(slab.find(a), 0), 1);
    assert.equal(slab.get(slab.find(c), 0), 3);
    // find does not count as a touch: c stays the least recent.
    slab.find(c);
    slab.touch(b);
    assert.equal(slab.find(c), -1);
  });

  it('limit() forgets the least recent now and bounds what comes after; clear() empties it', () => {
    const slab = new AddressSlab(1, 10);
    for (let i = 0; i < 10; i++) slab.set(slab.touch(v4(`10.0.0.${i}`, 1)), 0, i);
    slab.limit(4);
    assert.equal(slab.size, 4);
    for (let i = 0; i < 6; i++) assert.equal(slab.find(v4(`10.0.0.${i}`, 1)), -1);
    for (let i = 6; i < 10; i++) assert.equal(slab.get(slab.find(v4(`10.0.0.${i}`, 1)), 0), i);
    slab.touch(v4('10.0.1.1', 1));
    assert.equal(slab.size, 4);
    slab.clear();
    assert.equal(slab.size, 0);
    assert.equal(slab.find(v4('10.0.0.9', 1)), -1);
    assert.throws(() => new AddressSlab(0, 4), /fields/);
  });
});
