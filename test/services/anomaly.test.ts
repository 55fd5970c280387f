import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Anomaly, AnomalyDetector, type TickCounts } from '../../src/services/anomaly.js';

function tick(at: number, fields: Partial<Omit<TickCounts, 'at'>> = {}): TickCounts {
  return { at, inbound: 0, errors: 0, dropped: 0, bySubnet: new Map(), ...fields };
}

/** Steady traffic: `perSubnet` queries from each of `subnets` /24s, a few errors. */
function steady(at: number, subnets = 20, perSubnet = 5, errors = 2): TickCounts {
  const bySubnet = new Map<string, number>();
  for (let i = 0; i < subnets; i++) bySubnet.set(`10.0.${i}`, perSubnet);
  return tick(at, { inbound: subnets * perSubnet, errors, bySubnet });
}

describe('anomaly detector', () => {
  it('stays quiet on steady traffic, during and after warm-up', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    for (let t = 0; t < 200; t++) assert.deepEqual(d.observe(steady(t)), [], `tick ${t}`);
    assert.deepEqual(d.active(), []);
  });

  it('does not fire during warm-up, however large the count', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    for (let t = 0; t < 10; t++) {
      assert.deepEqual(d.observe(tick(t, { inbound: 10_000, errors: 10_000, dropped: 10_000 })), []);
    }
  });

  it('flags a flood from one /24 and names the subnet and share', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    for (let t = 0; t < 60; t++) d.observe(steady(t));
    const flood = steady(60);
    (flood.bySubnet as Map<string, number>).set('203.0.113', 400);
    const fired = d.observe({ ...flood, inbound: flood.inbound + 400 });
    const f = fired.find((a) => a.rule === 'subnet-flood');
    assert.ok(f, `expected a subnet-flood, got ${JSON.stringify(fired)}`);
    assert.equal(f.subject, '203.0.113.0/24');
    assert.equal(f.value, 400);
    assert.match(f.message, /203\.0\.113\.0\/24 sent 400 of 500 inbound messages \(80%\)/);
    // The total also jumped 5x: the global rule sees it too.
    assert.ok(fired.some((a) => a.rule === 'inbound-spike'));
    assert.equal(d.raised['subnet-flood'], 1);
  });

  it('does not call a busy subnet a flood when it is its usual level', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    const busy = (t: number): TickCounts => {
      const s = steady(t, 5, 5);
      (s.bySubnet as Map<string, number>).set('127.0.0', 100);
      return { ...s, inbound: s.inbound + 100 };
    };
    for (let t = 0; t < 100; t++) assert.deepEqual(d.observe(busy(t)), [], `tick ${t}`);
  });

  it('flags an error spike against the baseline, not below the floor', () => {
    const d = new AnomalyDetector({ warmupTicks: 10, minErrors: 10 });
    for (let t = 0; t < 60; t++) d.observe(steady(t, 20, 5, 1));
    assert.deepEqual(d.observe(steady(60, 20, 5, 8)), [], 'below the floor of 10');
    const fired = d.observe(steady(61, 20, 5, 40));
    assert.equal(fired.length, 1);
    assert.equal(fired[0]?.rule, 'error-spike');
    assert.ok((fired[0]?.baseline ?? 99) < 2);
  });

  it('keeps one flag per episode, then expires it after the cool-down', () => {
    const d = new AnomalyDetector({ warmupTicks: 5, coolDownTicks: 3, minDropped: 5 });
    for (let t = 0; t < 30; t++) d.observe(steady(t));
    d.observe({ ...steady(30), dropped: 100 });
    const again = d.observe({ ...steady(31), dropped: 100 });
    const dropped = again.find((a) => a.rule === 'dropped-spike');
    assert.equal(dropped?.ticks, 2, 'the second tick continues the episode');
    assert.equal(d.raised['dropped-spike'], 1);
    assert.equal(d.recent().filter((a) => a.rule === 'dropped-spike').length, 1);
    for (let t = 32; t < 35; t++) d.observe(steady(t));
    assert.ok(!d.active().some((a) => a.rule === 'dropped-spike'), 'expired after 3 quiet ticks');
    assert.equal(d.recent()[0]?.ticks, 2, 'history keeps the episode');
  });

  it('adapts to a lasting change of level', () => {
    const d = new AnomalyDetector({ warmupTicks: 10, coolDownTicks: 1 });
    for (let t = 0; t < 60; t++) d.observe(steady(t, 20, 5));
    let lastFired = -1;
    for (let t = 60; t < 1000; t++) if (d.observe(steady(t, 20, 30)).length > 0) lastFired = t;
    assert.ok(lastFired >= 60, 'the jump fired');
    assert.ok(lastFired < 400, `the new level became normal (last fired at ${lastFired})`);
  });

  it('rejects nonsense options', () => {
    assert.throws(() => new AnomalyDetector({ alpha: 0 }), /alpha/);
    assert.throws(() => new AnomalyDetector({ z: -1 }), /z must be/);
  });
});

describe('subnet-replies: one /24 answering our lookups', () => {
  /** Replies from `spread` /24s, `each` apiece, plus `cluster` from 66.66.66.0/24. */
  function replies(at: number, spread: number, each: number, cluster: number): TickCounts {
    const m = new Map<string, number>();
    for (let i = 0; i < spread; i++) m.set(`10.1.${i}`, each);
    if (cluster > 0) m.set('66.66.66', cluster);
    return tick(at, { repliesBySubnet: m });
  }

  it('stays quiet while replies are spread, and fires when one /24 reaches the share', () => {
    const d = new AnomalyDetector({ warmupTicks: 10, replyWindowTicks: 3 });
    // 40 replies a tick from 30 networks; the largest share is 2/40 = 5 %.
    for (let t = 0; t < 60; t++) assert.deepEqual(d.observe(replies(t, 20, 2, 0)), [], `tick ${t}`);
    // The cluster arrives: 40 of 80 replies a tick; over the 3-tick window, 40 of 160 (25 %).
    const fired = d.observe(replies(60, 20, 2, 40));
    const f = fired.find((a) => a.rule === 'subnet-replies');
    assert.ok(f, `expected subnet-replies, got ${JSON.stringify(fired)}`);
    assert.equal(f.subject, '66.66.66.0/24');
    assert.match(f.message, /66\.66\.66\.0\/24 sent 40 of our 160 replies/);
    assert.equal(d.raised['subnet-replies'], 1);
  });

  it('fires by default at a 15 % share (a 10 % Sybil cluster), not at 13 % (honest repeated lookups)', () => {
    const run = (cluster: number): boolean => {
      const d = new AnomalyDetector({ warmupTicks: 10 });
      let fired = false;
      // 40 spread replies a tick plus the cluster's; the window holds 30 ticks, over minReplies.
      for (let t = 0; t < 60; t++)
        fired ||= d.observe(replies(t, 20, 2, cluster)).some((a) => a.rule === 'subnet-replies');
      return fired;
    };
    assert.equal(run(8), true, '8 of 48 replies: 16.7 %');
    assert.equal(run(6), false, '6 of 46 replies: 13.0 %');
  });

  it('needs minReplies in the window: a quiet node with two replies is no cluster', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    for (let t = 0; t < 60; t++) assert.deepEqual(d.observe(replies(t, 0, 0, 2)), [], `tick ${t}`);
  });

  it('never names the overflow bucket "other" (many subnets, not one)', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    const m = new Map([
      ['other', 500],
      ['10.2.0', 10],
    ]);
    for (let t = 0; t < 60; t++) assert.deepEqual(d.observe(tick(t, { repliesBySubnet: m })), []);
  });
});

describe('target-density: ids placed around one target', () => {
  /** A 40-hex-digit target; `n` keeps them distinct. */
  const hex = (n: number): string => n.toString(16).padStart(40, '0');
  /** An honest level of 150 bits with a deterministic spread of at most `spread` either side. */
  const honest = (n: number, spread = 1.2): number => 150 + spread * Math.sin(n * 1.7);
  const lookups = (at: number, entries: [string, number][]): TickCounts =>
    tick(at, { lookupDistances: new Map(entries) });
  /** `ticks` ticks, each with one lookup of a new random target. */
  function warm(d: AnomalyDetector, ticks: number, first = 0): Anomaly[] {
    const fired: Anomaly[] = [];
    for (let t = first; t < first + ticks; t++)
      fired.push(...d.observe(lookups(t, [[hex(1000 + t), honest(t)]])));
    return fired;
  }
  const dense = (fired: Anomaly[]): Anomaly[] => fired.filter((a) => a.rule === 'target-density');

  it('fires on a target 3 bits denser than usual once the baseline is there, naming the target', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    assert.deepEqual(warm(d, 40), []);
    const victim = 'ab'.repeat(20);
    const fired = dense(d.observe(lookups(40, [[victim, 145.4]])));
    assert.equal(fired.length, 1, JSON.stringify(fired));
    const f = fired[0] as Anomaly;
    assert.equal(f.subject, victim);
    assert.equal(f.value, 145.4);
    assert.ok(Math.abs(f.baseline - 150) < 1.3, `usual level ${f.baseline}`);
    assert.equal(f.threshold, Math.round((f.baseline - 3) * 10) / 10);
    assert.match(
      f.message,
      new RegExp(`a lookup of ${victim} found its k-th closest node at 2\\^145\\.4, 4\\.\\d bits closer`),
    );
    assert.equal(d.raised['target-density'], 1);
    // The same target again is the same episode, not a new flag.
    assert.equal(dense(d.observe(lookups(41, [[victim, 145.4]])))[0]?.ticks, 2);
    assert.equal(d.raised['target-density'], 1);
  });

  it('does not fire before the baseline: during the tick warm-up, or with fewer targets than densityMinTargets', () => {
    // Warm by ticks, but only 15 distinct targets (the default minimum is 16).
    const few = new AnomalyDetector({ warmupTicks: 10 });
    for (let t = 0; t < 40; t++) few.observe(lookups(t, [[hex(t % 15), honest(t % 15)]]));
    assert.equal(few.usualDensity(), undefined);
    assert.deepEqual(dense(few.observe(lookups(40, [['ab'.repeat(20), 140]]))), []);
    // Enough targets, but still inside the tick warm-up.
    const early = new AnomalyDetector({ warmupTicks: 100 });
    for (let t = 0; t < 40; t++)
      early.observe(
        lookups(t, [
          [hex(t), honest(t)],
          [hex(500 + t), honest(500 + t)],
        ]),
      );
    assert.ok(early.usualDensity() !== undefined);
    assert.deepEqual(dense(early.observe(lookups(40, [['ab'.repeat(20), 140]]))), []);
  });

  it('stays quiet on honest spread up to 2.4 bits, at the default 3', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    const fired: Anomaly[] = [];
    for (let t = 0; t < 500; t++) fired.push(...d.observe(lookups(t, [[hex(t), honest(t, 2.4)]])));
    assert.deepEqual(dense(fired), []);
    // The same spread fires at a threshold it crosses: the rule does see these values.
    const strict = new AnomalyDetector({ warmupTicks: 10, densityBits: 2 });
    const crossed: Anomaly[] = [];
    for (let t = 0; t < 500; t++) crossed.push(...strict.observe(lookups(t, [[hex(t), honest(t, 2.4)]])));
    assert.ok(dense(crossed).length > 0);
  });

  it('does not fire by repetition: a target looked up again and again counts once in the baseline', () => {
    const d = new AnomalyDetector({ warmupTicks: 10 });
    // An infohash in a sparse stretch (3.2 bits above the usual level) looked up three times a
    // tick, beside one new random target a tick. Were each lookup a sample, it would soon be the
    // median, and ordinary targets 3 bits under it would fire.
    const popular = 'cd'.repeat(20);
    const fired: Anomaly[] = [];
    for (let t = 0; t < 300; t++) {
      fired.push(
        ...d.observe(
          lookups(t, [
            [popular, 153.2],
            [hex(t), honest(t)],
          ]),
        ),
      );
      fired.push(...d.observe(lookups(t + 0.3, [[popular, 153.2]])));
      fired.push(...d.observe(lookups(t + 0.6, [[popular, 153.2]])));
    }
    assert.deepEqual(dense(fired), []);
    assert.ok(Math.abs((d.usualDensity() as number) - 150) < 1.3, `usual ${d.usualDensity()}`);
  });

  it('keeps at most densityWindow targets, however many it sees', () => {
    const d = new AnomalyDetector({ warmupTicks: 10, densityWindow: 32, densityMinTargets: 8 });
    for (let t = 0; t < 200; t++) {
      const batch: [string, number][] = [];
      for (let j = 0; j < 50; j++) batch.push([hex(t * 50 + j), honest(t * 50 + j)]);
      d.observe(lookups(t, batch));
    }
    const f = dense(d.observe(lookups(200, [['ab'.repeat(20), 140]])))[0];
    assert.ok(f, 'fired');
    assert.match(f.message, /median of its last 32 targets/);
    // Old targets left: a window of recent values only. Shift the level and it follows.
    for (let t = 201; t < 240; t++) d.observe(lookups(t, [[hex(90_000 + t), 140 + Math.sin(t)]]));
    assert.ok(Math.abs((d.usualDensity() as number) - 140) < 1.1, `usual ${d.usualDensity()}`);
  });

  it('rejects a threshold of 0 bits and a minimum above the window', () => {
    assert.throws(() => new AnomalyDetector({ densityBits: 0 }), /densityBits must be > 0/);
    assert.throws(
      () => new AnomalyDetector({ densityBits: -3 }),
      /densityBits must be >= 0|densityBits must be > 0/,
    );
    assert.throws(
      () => new AnomalyDetector({ densityWindow: 8, densityMinTargets: 16 }),
      /densityWindow must be >= 1 and >= densityMinTargets/,
    );
  });
});
