// Client side of BEP 33 and BEP 51 through the Dht API, on an in-memory network where every
// announcer has its own IP (bloom filters count IPs, so loopback would count everyone once).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex } from '../../src/util/bytes.js';
import { MemoryDhtNet } from './memory-net.js';

async function network(seed: number, size: number) {
  const net = new MemoryDhtNet(seed);
  const first = net.add('30.0.0.1', { secureIds: 'off' });
  await first.listen();
  for (let i = 1; i < size; i++) {
    const n = net.add(`30.0.${i}.1`, { secureIds: 'off', bootstrap: ['30.0.0.1:6881'] });
    await n.listen();
    await net.settle(n.bootstrap());
  }
  return net;
}

describe('Dht.scrape (BEP 33) and Dht.sampleInfohashes (BEP 51)', () => {
  it('estimates seeds and leechers from the closest nodes bloom filters', async () => {
    const net = await network(4, 16);
    try {
      const infoHash = new Uint8Array(20).fill(0x5c);
      // 4 seeds and 7 leechers, each from its own IP.
      for (let i = 0; i < 11; i++) {
        const r = await net.settle(net.nodes[i + 1]!.announce(infoHash, { port: 6000 + i, seed: i < 4 }));
        assert.ok(r.announcedTo >= 1);
      }
      const scrape = await net.settle(net.nodes[13]!.scrape(infoHash));
      assert.equal(scrape.seeds, 4);
      assert.equal(scrape.leechers, 7);
      assert.ok(scrape.withFilters >= 1 && scrape.responded >= scrape.withFilters);
      assert.equal(scrape.seedFilter.length, 256);
      const none = await net.settle(net.nodes[13]!.scrape(new Uint8Array(20).fill(0x01)));
      assert.deepEqual([none.seeds, none.leechers, none.withFilters], [0, 0, 0]);
      // noseed: only leechers come back.
      const leechers = await net.settle(net.nodes[14]!.findPeers(infoHash, { noseed: true }));
      assert.equal(leechers.length, 7);
      assert.ok(leechers.every((p) => p.port >= 6004));
    } finally {
      await net.close();
    }
  });

  it('walks towards a target collecting infohash samples with num and interval', async () => {
    const net = await network(5, 12);
    try {
      const announced = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const ih = new Uint8Array(20).fill(0x10 + i);
        announced.add(toHex(ih));
        await net.settle(net.nodes[i + 1]!.announce(ih, { port: 7000 }));
      }
      const sample = await net.settle(net.nodes[10]!.sampleInfohashes({ target: new Uint8Array(20) }));
      assert.ok(sample.nodes.length >= 3, `${sample.nodes.length} nodes answered`);
      assert.equal(sample.failed, 0);
      for (const n of sample.nodes) {
        assert.equal(typeof n.num, 'number');
        assert.ok(n.interval !== undefined && n.interval > 0);
      }
      const got = new Set(sample.infohashes.map(toHex));
      assert.ok(got.size >= 1);
      for (const h of got) assert.ok(announced.has(h), `sampled ${h}, never announced`);
    } finally {
      await net.close();
    }
  });
});
