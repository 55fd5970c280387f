import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { Histogram } from '../../src/services/histogram.js';
import { metricsText } from '../../src/services/metrics.js';
import { histogramSamples, render } from '../../src/services/prometheus.js';
import { Statistics } from '../../src/services/statistics.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import { encodeQuery } from '../../src/wire/krpc.js';
import { parseMetrics } from './prom-parse.js';

describe('prometheus text format', () => {
  it('writes HELP, TYPE and samples with escaped labels', () => {
    const text = render([
      {
        name: 'kadmium_x_total',
        type: 'counter',
        help: 'A "test"\ncounter.',
        samples: [{ labels: { method: 'get_peers', weird: 'a"b\\c\nd' }, value: 3 }, { value: 1.5 }],
      },
    ]);
    assert.equal(
      text,
      '# HELP kadmium_x_total A "test"\\ncounter.\n' +
        '# TYPE kadmium_x_total counter\n' +
        'kadmium_x_total{method="get_peers",weird="a\\"b\\\\c\\nd"} 3\n' +
        'kadmium_x_total 1.5\n',
    );
  });

  it('never writes a control character or a lone surrogate into a label value', () => {
    const text = render([
      {
        name: 'kadmium_x_total',
        type: 'counter',
        help: 'h',
        samples: [{ labels: { method: 'a\rb\u0000c\u001bd\u007fe\ud800f\n"\\' }, value: 1 }],
      },
    ]);
    assert.equal(
      text,
      '# HELP kadmium_x_total h\n# TYPE kadmium_x_total counter\n' +
        'kadmium_x_total{method="a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\\n\\"\\\\"} 1\n',
    );
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f]/);
    // A whole surrogate pair is a real character and passes unchanged.
    assert.match(
      render([{ name: 'x', type: 'gauge', help: '', samples: [{ labels: { a: '\u{1f600}' }, value: 1 }] }]),
      /a="\u{1f600}"/u,
    );
  });

  it('rejects invalid names', () => {
    assert.throws(
      () => render([{ name: 'bad-name', type: 'gauge', help: '', samples: [] }]),
      /invalid metric/,
    );
    assert.throws(
      () => render([{ name: 'ok', type: 'gauge', help: '', samples: [{ labels: { 'a-b': 1 }, value: 1 }] }]),
      /invalid label/,
    );
  });

  it('turns a histogram into cumulative buckets, sum and count', () => {
    const h = new Histogram([0.1, 1]);
    for (const v of [0.05, 0.5, 0.7, 3]) h.observe(v);
    const s = h.snapshot();
    assert.deepEqual(s.counts, [1, 2, 1]);
    const samples = histogramSamples(s.bounds, s.counts, s.sum, s.count, { kind: 'get_peers' });
    assert.deepEqual(
      samples.map((x) => [x.suffix, x.labels?.le, x.value]),
      [
        ['_bucket', '0.1', 1],
        ['_bucket', '1', 3],
        ['_bucket', '+Inf', 4],
        ['_sum', undefined, 4.25],
        ['_count', undefined, 4],
      ],
    );
  });
});

describe('inbound method counters under junk method names', () => {
  it('keep counting real methods by name, and let no junk byte into the exposition', async () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(4);
    const net = new MemoryNetwork({ clock, random, latencyMs: () => 1 });
    const dht = new Dht({ transport: net.createTransport('2.0.0.1'), clock, random, bootstrap: false });
    await dht.listen();
    const stats = new Statistics(dht, { tickMs: 60_000 });
    try {
      const peer = net.createTransport('3.0.0.1', 4000);
      const id = new Uint8Array(20).fill(9);
      const send = (q: string, a: Record<string, Uint8Array>) =>
        peer.send(encodeQuery(new Uint8Array([7]), q, { id, ...a }), dht.address);
      for (let i = 0; i < 70; i++) send(`junk\r${i}`, {});
      await clock.advance(10);
      send('get', { target: new Uint8Array(20).fill(1) });
      send('sample_infohashes', { target: new Uint8Array(20).fill(2) });
      await clock.advance(10);
      const text = await metricsText(stats);
      assert.doesNotMatch(text, /\r/, 'no raw CR in the exposition');
      const received = parseMetrics(text).samples.filter(
        (s) => s.name === 'kadmium_messages_received_total' && s.labels.kind === 'query',
      );
      const by = Object.fromEntries(received.map((s) => [s.labels.method, s.value]));
      assert.equal(by.get, 1);
      assert.equal(by.sample_infohashes, 1);
      assert.equal(by.other, 70);
      assert.ok(received.length <= 8, `one sample per known method plus other, got ${received.length}`);
    } finally {
      stats.stop();
      await dht.close();
    }
  });
});
