import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FIXED_REFRESH_INTERVAL_MS,
  LOSS_PER_REFRESH,
  MAX_REFRESH_INTERVAL_MS,
  MIN_REFRESH_INTERVAL_MS,
  RefreshPacer,
} from '../../src/node/refresh-pacer.js';

const MINUTE = 60_000;

/** Feed `ticks` one-minute ticks losing `perMinute` of a table of `contacts`. */
function feed(pacer: RefreshPacer, contacts: number, perMinute: number, ticks: number, from = 0): number {
  let evictions = 0;
  for (let i = 0; i <= ticks; i++) {
    pacer.tick((from + i) * MINUTE, evictions, contacts);
    evictions += perMinute * contacts;
  }
  return evictions;
}

describe('refresh pacer', () => {
  it('uses the fixed BEP 5 interval until it has a first estimate', () => {
    const pacer = new RefreshPacer();
    assert.equal(pacer.intervalMs(), FIXED_REFRESH_INTERVAL_MS);
    pacer.tick(0, 0, 100);
    assert.equal(pacer.intervalMs(), FIXED_REFRESH_INTERVAL_MS);
    assert.equal(pacer.churnPerMinute, undefined);
  });

  it('spaces refreshes out to the upper bound when no contact fails', () => {
    const pacer = new RefreshPacer();
    feed(pacer, 200, 0, 5);
    assert.equal(pacer.churnPerMinute, 0);
    assert.equal(pacer.intervalMs(), MAX_REFRESH_INTERVAL_MS);
  });

  it('follows the churn: 1% of contacts lost per minute gives LOSS_PER_REFRESH / 1% minutes', () => {
    const pacer = new RefreshPacer();
    feed(pacer, 200, 0.01, 30);
    assert.ok(Math.abs((pacer.churnPerMinute as number) - 0.01) < 1e-9);
    assert.ok(Math.abs(pacer.intervalMs() - (LOSS_PER_REFRESH / 0.01) * MINUTE) < 1);
  });

  it('never goes below the lower bound however high the churn', () => {
    const pacer = new RefreshPacer();
    feed(pacer, 100, 0.5, 10);
    assert.equal(pacer.intervalMs(), MIN_REFRESH_INTERVAL_MS);
  });

  it('smooths: one bad minute after a calm hour does not drop to the lower bound', () => {
    const pacer = new RefreshPacer();
    const evictions = feed(pacer, 200, 0, 60);
    pacer.tick(61 * MINUTE, evictions + 20, 200); // 10% of the table in one minute
    assert.ok(pacer.intervalMs() > MIN_REFRESH_INTERVAL_MS, `interval ${pacer.intervalMs()} ms`);
    assert.ok(pacer.intervalMs() < MAX_REFRESH_INTERVAL_MS);
  });
});
