import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { metricsText } from '../../src/services/metrics.js';
import { Statistics } from '../../src/services/statistics.js';
import { xorMap } from '../../src/services/xor-map.js';
import { parseMetrics, total } from './prom-parse.js';

describe('statistics service on a loopback testnet', () => {
  let net: Testnet;
  let dht: Dht;
  let stats: Statistics;

  before(async () => {
    net = await createTestnet(8);
    dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap: net.bootstrap });
    stats = new Statistics(dht, { tickMs: 60_000 });
    stats.start();
    await dht.start();
  });

  after(async () => {
    stats.stop();
    await dht.close();
    await net.destroy();
  });

  it('records the latency of every lookup kind, BEP 44 get and put included', async () => {
    const put = await dht.putImmutable(new TextEncoder().encode('latency'), { republish: false });
    assert.ok(await dht.get(put.target));
    const latency = stats.latencySnapshot();
    assert.ok((latency.put?.count ?? 0) >= 1, 'put lookups reach the histogram');
    assert.ok((latency.get?.count ?? 0) >= 1, 'get lookups reach the histogram');
    assert.ok(
      (stats.firstResultSnapshot().get?.count ?? 0) >= 1,
      'a get that found the item has a first result',
    );
  });

  it('counts messages, lookups and table changes from the event bus', async () => {
    const infohash = new Uint8Array(20).fill(7);
    await dht.announce(infohash, { port: 7000 });
    const peers = await dht.findPeers(infohash);
    assert.ok(peers.some((p) => p.port === 7000));
    const sample = stats.tick();
    assert.ok(sample.queriesOut > 0, 'queries out');
    assert.ok(sample.responsesIn > 0, 'responses in');
    assert.ok(stats.counters.nodesAdded >= 5, `nodes added ${stats.counters.nodesAdded}`);
    const kinds = stats.recentLookups().map((l) => l.kind);
    // announce runs a get_peers lookup of its own first.
    assert.deepEqual(kinds.slice(0, 3), ['get_peers', 'announce', 'get_peers']);
    const latest = stats.recentLookups()[0];
    assert.ok(latest && latest.queried >= latest.responded && latest.responded > 0 && latest.hops >= 1);
    assert.equal(stats.latencySnapshot().get_peers?.count, 2);
    // Time to first peer: only the lookup that found one has it, and it comes before the end.
    assert.equal(stats.firstResultSnapshot().get_peers?.count, 1);
    assert.ok(latest.firstResultMs !== undefined && latest.firstResultMs <= latest.durationMs);
    assert.equal(stats.recentLookups()[2]?.firstResultMs, undefined, 'the first lookup found no peers');
    assert.equal(stats.lastBootstrap?.ok, true);
    const snap = await stats.snapshot();
    assert.equal(snap.routingTable.size, dht.table.size);
    assert.equal(snap.rates.length, 1);
    assert.ok(JSON.stringify(snap).length > 100, 'snapshot serialises');
  });

  it('exposes Prometheus metrics that match the node counters', async () => {
    const parsed = parseMetrics(await metricsText(stats));
    const rpc = dht.stats().rpc;
    assert.ok(rpc);
    const sentQueries = Object.values(rpc.outbound).reduce((n, s) => n + s.tx, 0);
    assert.equal(total(parsed, 'kadmium_messages_sent_total', { kind: 'query' }), sentQueries);
    assert.equal(total(parsed, 'kadmium_routing_table_nodes'), dht.table.size);
    assert.equal(total(parsed, 'kadmium_routing_bucket_nodes'), dht.table.size);
    assert.equal(parsed.types.get('kadmium_lookup_duration_seconds'), 'histogram');
    assert.equal(total(parsed, 'kadmium_lookup_duration_seconds_count', { kind: 'get_peers' }), 2);
    const inf = parsed.samples.find(
      (s) =>
        s.name === 'kadmium_lookup_duration_seconds_bucket' &&
        s.labels.kind === 'announce' &&
        s.labels.le === '+Inf',
    );
    assert.equal(inf?.value, 1);
    assert.ok(total(parsed, 'kadmium_process_resident_memory_bytes') > 1_000_000);
    assert.equal(parsed.types.get('kadmium_stored_items'), undefined, 'no item store, no item metric');
  });

  it('places known nodes in XOR space', () => {
    const nodes = xorMap(dht.table, Date.now());
    assert.equal(nodes.length, dht.table.size);
    for (const n of nodes) {
      assert.ok(n.radius > 0 && n.radius <= 1 && n.angle >= 0 && n.angle < 1);
      // The ring follows the shared prefix: 160 - prefix - 1 is the top bit of the distance.
      assert.equal(Math.floor(n.radius * 160), 159 - n.prefix);
    }
  });
});
