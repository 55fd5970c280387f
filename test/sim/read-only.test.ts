// The privacy profile in the simulator: a fraction of nodes run read-only (BEP 43); they are in
// nobody's routing table, and a world without them replays exactly as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seedRoutingTables } from '../../src/sim/fast-build.js';
import { SimWorld } from '../../src/sim/world.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('read-only nodes in the simulator', () => {
  it('about the asked fraction is read-only, and no table holds one', async () => {
    const world = new SimWorld({ seed: 5, readOnlyFraction: 0.3 });
    try {
      for (let i = 0; i < 300; i++) world.addNode();
      const readOnly = world.live.filter((n) => n.readOnly);
      assert.ok(readOnly.length > 60 && readOnly.length < 120, `${readOnly.length} of 300 read-only`);
      seedRoutingTables(world.live, world.live, world.random.fork(), 0);
      const hidden = new Set(readOnly.map((n) => hex(n.dht.id)));
      let contacts = 0;
      for (const n of world.live)
        for (const c of n.dht.table.nodes()) {
          contacts++;
          assert.ok(!hidden.has(hex(c.id)), 'a read-only node was put in a table');
        }
      assert.ok(contacts > 1000, `${contacts} contacts seeded`);
    } finally {
      await world.close();
    }
  });

  it('a world without read-only nodes draws the same ids as before', async () => {
    const a = new SimWorld({ seed: 9 });
    const b = new SimWorld({ seed: 9, readOnlyFraction: 0 });
    try {
      for (let i = 0; i < 20; i++) assert.equal(hex(a.addNode().dht.id), hex(b.addNode().dht.id));
      assert.ok(b.live.every((n) => !n.readOnly));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
