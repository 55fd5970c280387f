import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnomalyDetector, type TickCounts } from '../../src/services/anomaly.js';

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
