import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logNormal, pareto, paretoMean, paretoResidual } from '../../src/sim/distributions.js';
import { constantLatency, greatCircle, internetLatency } from '../../src/sim/latency.js';
import { quantile, summarize } from '../../src/sim/stats.js';
import { SeededRandom } from '../../src/util/random.js';

describe('latency model', () => {
  it('has an internet-like spread: median 40-60 ms, a long tail, never constant', () => {
    const random = new SeededRandom(42);
    const model = internetLatency();
    const sites = Array.from({ length: 500 }, () => model.site(random));
    const delays: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const a = sites[random.int(sites.length)]!;
      const b = sites[random.int(sites.length)]!;
      delays.push(model.oneWayMs(a, b, random));
    }
    const s = summarize(delays);
    assert.ok(s.median >= 40 && s.median <= 60, `median ${s.median}`);
    assert.ok(s.p99 > 1.8 * s.median, `p99 ${s.p99} vs median ${s.median}: tail too short`);
    assert.ok(Math.min(...delays) > 0);
    assert.ok(new Set(delays.map((d) => Math.round(d))).size > 100, 'delays vary');
  });

  it('grows with distance: antipodes are slower than neighbours on the same links', () => {
    const random = new SeededRandom(1);
    const model = internetLatency({ jitterMeanMs: 0.001 });
    const here = { lat: 0, lon: 0, accessMs: 5 };
    const near = { lat: 0, lon: 0.01, accessMs: 5 };
    const far = { lat: 0, lon: Math.PI, accessMs: 5 };
    assert.ok(Math.abs(greatCircle(here, far) - Math.PI) < 1e-9);
    assert.ok(model.oneWayMs(here, far, random) > model.oneWayMs(here, near, random) + 70);
    assert.equal(constantLatency(7).oneWayMs(here, far, random), 7);
  });

  it('log-normal has the requested median; Pareto residuals match the renewal mean', () => {
    const random = new SeededRandom(9);
    const ln = Array.from({ length: 20_000 }, () => logNormal(random, 30, 0.5)).sort((a, b) => a - b);
    assert.ok(Math.abs(quantile(ln, 0.5) - 30) < 1.5, `median ${quantile(ln, 0.5)}`);
    const p = Array.from({ length: 20_000 }, () => pareto(random, 10, 3));
    assert.ok(Math.min(...p) >= 10);
    assert.ok(Math.abs(summarize(p).mean - paretoMean(10, 3)) < 0.5);
    // P(R > xm) = 1/alpha for the equilibrium residual.
    const r = Array.from({ length: 20_000 }, () => paretoResidual(random, 10, 1.5));
    const beyond = r.filter((x) => x > 10).length / r.length;
    assert.ok(Math.abs(beyond - 1 / 1.5) < 0.02, `P(R > xm) = ${beyond}`);
  });
});
