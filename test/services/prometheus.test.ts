import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram } from '../../src/services/histogram.js';
import { histogramSamples, render } from '../../src/services/prometheus.js';

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
