// The privacy rotation in the simulator: rotating nodes rejoin with fresh ids as the daemon does
// (successor joins, then replaces the old node), lookups keep succeeding, each rejoin's cost is
// counted, and the run replays exactly from its seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint, simulate } from '../../src/sim/simulate.js';
import type { SimOptions } from '../../src/sim/runner.js';

describe('rotate scenario', { timeout: 120_000 }, () => {
  it('rotating nodes rejoin, lookups succeed, the cost is measured, the seed replays', async () => {
    const options: SimOptions = {
      nodes: 150,
      seed: 4,
      scenario: 'rotate',
      lookups: 60,
      build: 'fast',
      readOnlyFraction: 0.2,
      rotateFraction: 0.3,
      rotateEveryMs: 2 * 60_000,
      durationMs: 5 * 60_000,
    };
    const r = await simulate(options);
    const o = r.rotation;
    assert.ok(o, 'the result reports the rotation');
    assert.equal(o.rotating, Math.round(0.3 * (150 - 3)), 'the asked fraction of non-router nodes rotates');
    assert.ok(o.readOnly > 0 && o.readOnly <= o.rotating, 'read-only nodes are among the first to rotate');
    // Each rotating node rotates 2 or 3 times in 5 minutes at a 2-minute period.
    assert.ok(o.rotations >= 2 * o.rotating && o.rotations <= 3 * o.rotating, `${o.rotations} rotations`);
    assert.equal(o.rejoinsOk + o.rejoinsFailed, o.rotations);
    assert.ok(o.rejoinsOk >= 0.9 * o.rotations, `${o.rejoinsOk} of ${o.rotations} rejoined`);
    assert.ok(o.datagramsPerRejoin.mean > 1, 'a rejoin sends datagrams');
    assert.ok(o.rejoinMs.median > 0, 'a rejoin takes virtual time');
    assert.ok(r.overall.successRate >= 0.95, `lookups: ${r.overall.successRate}`);
    assert.match(r.replay, /--rotate 0\.3 --rotate-every 2/);
    const again = await simulate(options);
    assert.equal(fingerprint(again), fingerprint(r), 'the same seed replays the same run');
  });
});
