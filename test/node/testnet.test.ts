import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { type Testnet, createTestnet } from '../../src/node/testnet.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Datagrams sent by every node so far: queries, replies and errors. */
function datagrams(nodes: Dht[]): number {
  let n = 0;
  for (const node of nodes) {
    const s = node.stats().rpc;
    if (!s) continue;
    for (const m of Object.values(s.outbound)) n += m.tx;
    for (const m of Object.values(s.inbound)) n += m.tx + m.errors;
  }
  return n;
}

describe('loopback UDP testnet of 50 real nodes', () => {
  let net: Testnet;
  before(async () => {
    net = await createTestnet(50);
  });
  after(async () => {
    await net?.destroy();
  });

  it('every node joined and knows others', () => {
    assert.equal(net.nodes.length, 50);
    for (const node of net.nodes) assert.ok(node.table.size >= 5, `node has ${node.table.size} contacts`);
  });

  it('an announce from one node is found by get_peers from every other node', async () => {
    const infoHash = randomBytes(20);
    const announcer = net.nodes[7]!;
    const result = await announcer.announce(infoHash, { port: 51413 });
    assert.ok(result.announcedTo >= 6, `announced to ${result.announcedTo}`);
    for (const [i, node] of net.nodes.entries()) {
      if (node === announcer) continue;
      const peers = await node.findPeers(infoHash);
      assert.ok(
        peers.some((p) => p.port === 51413 && p.host === '127.0.0.1'),
        `node ${i} did not find the peer (found ${JSON.stringify(peers)})`,
      );
    }
  });

  it('finds a peer from a newcomer that bootstraps through the first node, and reports lookup figures', async (t) => {
    const infoHashes = Array.from({ length: 20 }, () => randomBytes(20));
    for (const [i, ih] of infoHashes.entries()) await net.nodes[i % 50]!.announce(ih, { port: 20000 + i });
    const newcomer = new Dht({ host: '127.0.0.1', bootstrap: net.bootstrap });
    try {
      const joined = await newcomer.start();
      assert.ok(joined.ok, joined.message);
      const all = [...net.nodes, newcomer];
      const latencies: number[] = [];
      const messages: number[] = [];
      for (const [i, ih] of infoHashes.entries()) {
        const before = datagrams(all);
        const started = performance.now();
        const peers = await newcomer.findPeers(ih);
        latencies.push(performance.now() - started);
        messages.push(datagrams(all) - before);
        assert.ok(
          peers.some((p) => p.port === 20000 + i),
          `lookup ${i} missed its peer`,
        );
      }
      latencies.sort((a, b) => a - b);
      messages.sort((a, b) => a - b);
      const figures = {
        lookups: latencies.length,
        medianMs: Math.round(percentile(latencies, 50) * 10) / 10,
        p95Ms: Math.round(percentile(latencies, 95) * 10) / 10,
        medianDatagrams: percentile(messages, 50),
        p95Datagrams: percentile(messages, 95),
      };
      t.diagnostic(`get_peers on 50 loopback nodes: ${JSON.stringify(figures)}`);
      assert.ok(figures.medianDatagrams > 0);
    } finally {
      await newcomer.close();
    }
  });

  it('restores a saved routing table and rejoins without the bootstrap node', async () => {
    const first = new Dht({ host: '127.0.0.1', bootstrap: net.bootstrap });
    await first.start();
    await first.findNode(randomBytes(20));
    const saved = first.exportRoutingTable();
    await first.close();
    assert.ok(saved.nodes.length >= 5);
    const restarted = new Dht({ host: '127.0.0.1', bootstrap: false, routingTable: saved });
    try {
      assert.equal(Buffer.from(restarted.id).toString('hex'), saved.id, 'keeps its id');
      const joined = await restarted.start();
      assert.ok(joined.ok, joined.message);
      assert.ok(restarted.table.size >= 5);
    } finally {
      await restarted.close();
    }
  });

  it('stops a get_peers lookup when the caller stops iterating or aborts', async () => {
    const node = net.nodes[3]!;
    const infoHash = randomBytes(20);
    await net.nodes[30]!.announce(infoHash, { port: 1111 });
    for await (const peer of node.getPeers(infoHash)) {
      assert.equal(peer.port, 1111);
      break;
    }
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(node.findPeers(infoHash, { signal: controller.signal }), { code: 'ABORTED' });
  });

  it('rejects bad arguments with clear errors', async () => {
    const node = net.nodes[0]!;
    await assert.rejects(node.findPeers(new Uint8Array(5)), /infohash must be 20 bytes/);
    await assert.rejects(node.announce(randomBytes(20), { port: 70000 }), /port must be 1-65535/);
  });
});
