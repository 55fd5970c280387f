import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomIdWithPrefix, rankLog2Distance } from '../../src/kademlia/id.js';
import { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { metricsText } from '../../src/services/metrics.js';
import { type Anomaly, AnomalyDetector } from '../../src/services/anomaly.js';
import { Statistics } from '../../src/services/statistics.js';
import { xorMap } from '../../src/services/xor-map.js';
import { toHex } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';
import { joinedNetwork } from '../node/memory-net.js';
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

describe('statistics: the target-density rule fed by real lookups', () => {
  it('learns the usual k-th-closest distance from lookup:finished and flags a target with ids placed around it', async () => {
    const random = new SeededRandom(14);
    const victim = random.bytes(20);
    // 80 nodes spread at random, then 12 whose ids share 24 bits with the victim target: closer
    // to it than any honest node is likely to be (they answer honestly: the rule reads density).
    // BEP 42 off: under `prefer` a lookup settles on ids valid for their IPs first, and the
    // placed ids here are not (a lookup result, and so the event, would leave them out).
    const { clock, nodes } = await joinedNetwork(92, 14, (i) => ({
      secureIds: 'off',
      ...(i >= 80 ? { id: randomIdWithPrefix(random, victim, 24) } : {}),
    }));
    const watcher = nodes[1] as Dht;
    const stats = new Statistics(watcher, {
      tickMs: 1_000,
      detector: new AnomalyDetector({ warmupTicks: 2, densityMinTargets: 8 }),
    });
    const seen: number[] = [];
    watcher.events.on('lookup:finished', (e) => {
      if (e.kthLog2Distance !== undefined) seen.push(e.kthLog2Distance);
    });
    const flags: Anomaly[] = [];
    stats.events.on('anomaly', (a) => flags.push(a));
    stats.start();
    try {
      for (let i = 0; i < 12; i++) {
        await clock.run(watcher.findNode(random.bytes(20)));
        await clock.advance(1_000);
      }
      assert.ok(seen.length >= 12, `lookups carry the distance (${seen.length})`);
      // 92 nodes: the 8th closest of a random target sits near log2(8 / 92) + 160, about 156.5 bits.
      const usual = stats.detector.usualDensity();
      assert.ok(usual !== undefined && usual > 154 && usual < 159, `usual level ${usual}`);
      assert.equal(flags.length, 0, `random targets: no flag (${JSON.stringify(flags)})`);
      const found = await clock.run(watcher.findNode(victim));
      assert.equal(
        seen.at(-1),
        rankLog2Distance(
          victim,
          found.map((c) => c.id),
          8,
        ),
        'the event reads the k-th closest',
      );
      await clock.advance(1_000);
      assert.equal(flags.length, 1, JSON.stringify(flags));
      assert.equal(flags[0]?.rule, 'target-density');
      assert.equal(flags[0]?.subject, toHex(victim));
      assert.ok((flags[0]?.value ?? 160) < 140, `the victim's 8th closest ${flags[0]?.value}`);
      const metrics = parseMetrics(await metricsText(stats));
      assert.equal(total(metrics, 'kadmium_anomalies_total', { rule: 'target-density' }), 1);
    } finally {
      stats.stop();
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
