import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { churnSchedule, sessionModel } from '../../src/sim/churn.js';
import { quantile } from '../../src/sim/stats.js';
import { SeededRandom } from '../../src/util/random.js';

describe('churn schedule', () => {
  it('replaces the requested fraction per period, steadily from the start', () => {
    const slots = 20_000;
    const events = churnSchedule(new SeededRandom(5), slots, 30 * 60_000, { fraction: 0.1 });
    for (let period = 0; period < 3; period++) {
      const leaves = events.filter(
        (e) => e.kind === 'leave' && e.at >= period * 600_000 && e.at < (period + 1) * 600_000,
      ).length;
      assert.ok(Math.abs(leaves / slots - 0.1) < 0.015, `period ${period}: ${leaves} leaves`);
    }
  });

  it('is time-ordered, alternates leave/join per slot, and replays from its seed', () => {
    const a = churnSchedule(new SeededRandom(8), 500, 3_600_000, { fraction: 0.5, offlineMs: 1000 });
    const b = churnSchedule(new SeededRandom(8), 500, 3_600_000, { fraction: 0.5, offlineMs: 1000 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, churnSchedule(new SeededRandom(9), 500, 3_600_000, { fraction: 0.5 }));
    for (let i = 1; i < a.length; i++) assert.ok(a[i]!.at >= a[i - 1]!.at);
    const last = new Map<number, string>();
    for (const e of a) {
      assert.notEqual(last.get(e.slot), e.kind, `slot ${e.slot} did ${e.kind} twice in a row`);
      if (!last.has(e.slot)) assert.equal(e.kind, 'leave');
      last.set(e.slot, e.kind);
    }
  });

  it('draws heavy-tailed sessions', () => {
    const model = sessionModel({ fraction: 0.1 });
    assert.equal(model.meanMs, 100 * 60_000);
    const random = new SeededRandom(2);
    const s = Array.from({ length: 50_000 }, () => model.fresh(random)).sort((x, y) => x - y);
    // Pareto(1.5): the 99.9th percentile is 100x the minimum; an exponential would give ~7x the mean.
    assert.ok(quantile(s, 0.999) > 50 * quantile(s, 0), 'long tail');
    assert.ok(quantile(s, 0.5) < model.meanMs, 'most sessions are shorter than the mean');
  });
});
