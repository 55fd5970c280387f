import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnnounceKeepAlive, KEEPALIVE_FEATURE } from '../../src/node/announce-keepalive.js';
import {
  FEATURE_BACKOFF_MS,
  FEATURE_MAX_BACKOFF_MS,
  type FeatureChange,
  FeatureBreakers,
  FeatureOffError,
} from '../../src/node/feature-breakers.js';
import { PATH_CACHE_FEATURE } from '../../src/node/items.js';
import { Misses } from '../../src/node/path-cache.js';
import { STATISTICS_FEATURE, Statistics } from '../../src/services/statistics.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { Clock } from '../../src/util/clock.js';
import { TimeoutError } from '../../src/util/errors.js';
import { joinedNetwork } from './memory-net.js';

/** Only `now` matters to the breakers. */
function manualClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t } as unknown as Clock & { t: number };
  return c;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** N nodes on an in-memory network, joined, on virtual time. */
async function network(size: number, seed: number, latency: string[] = ['adaptive-timeouts']) {
  const { clock, nodes } = await joinedNetwork(size, seed, () => ({ latency }));
  for (const n of nodes) await clock.run(n.findNode(n.id));
  return { clock, nodes, close: () => Promise.all(nodes.map((n) => n.close())) };
}

describe('feature breakers', () => {
  it('a throw switches the feature off for a back-off that doubles, a clean run turns it on', () => {
    const clock = manualClock();
    const changes: FeatureChange[] = [];
    const breakers = new FeatureBreakers(clock, (c) => changes.push(c));
    let calls = 0;
    const broken = (): number => {
      calls++;
      throw new Error('boom');
    };
    assert.equal(breakers.run('x', broken, -1), -1, 'the fallback stands in');
    assert.equal(calls, 1);
    assert.deepEqual(changes.at(-1), {
      feature: 'x',
      state: 'off',
      failures: 1,
      error: 'Error: boom',
      offUntilMs: FEATURE_BACKOFF_MS,
    });
    assert.equal(breakers.run('x', broken, -1), -1);
    assert.equal(calls, 1, 'not run while off');
    assert.equal(
      breakers.run('y', () => 7, -1),
      7,
      'other features are not affected',
    );
    clock.t = FEATURE_BACKOFF_MS;
    breakers.run('x', broken, -1);
    assert.equal(calls, 2, 'tried again after the back-off');
    assert.equal(changes.at(-1)?.offUntilMs, FEATURE_BACKOFF_MS + 2 * FEATURE_BACKOFF_MS, 'doubled');
    clock.t = FEATURE_BACKOFF_MS * 3;
    assert.equal(
      breakers.run('x', () => 1, -1),
      1,
    );
    assert.deepEqual(changes.at(-1), { feature: 'x', state: 'on', failures: 0 });
    assert.deepEqual(
      breakers.status().map((s) => [s.feature, s.state, s.trips]),
      [['x', 'on', 2]],
    );
    // Many failures in a row: capped.
    for (let i = 0; i < 20; i++) {
      breakers.run('x', broken, -1);
      clock.t = clock.now() + FEATURE_MAX_BACKOFF_MS;
    }
    assert.ok(
      (changes.at(-1)?.offUntilMs ?? 0) - (clock.now() - FEATURE_MAX_BACKOFF_MS) <= FEATURE_MAX_BACKOFF_MS,
    );
  });

  it('async work: a rejection counts; a throwing reporter does not undo the isolation', async () => {
    const clock = manualClock();
    const breakers = new FeatureBreakers(clock, () => {
      throw new Error('the log sink is broken too');
    });
    assert.equal(await breakers.runAsync('a', () => Promise.reject(new Error('no')), 'fallback'), 'fallback');
    assert.equal(breakers.allowed('a'), false);
    const guarded = breakers.guard('b', (n: number) => {
      if (n > 1) throw new Error('too big');
    });
    guarded(1);
    guarded(2);
    assert.equal(breakers.allowed('b'), false);
  });

  it('an explicit call: expected failures pass through, a fault trips the feature, an off feature refuses', async () => {
    const clock = manualClock();
    const breakers = new FeatureBreakers(clock);
    const timeout = new TimeoutError('no answer');
    await assert.rejects(
      breakers.call('stun', () => Promise.reject(timeout)),
      (err) => err === timeout,
    );
    assert.equal(breakers.allowed('stun'), true, 'a timeout is an outcome, not a fault');
    const fault = new TypeError('undefined is not a function');
    await assert.rejects(
      breakers.call('stun', () => Promise.reject(fault)),
      (err: unknown) => err instanceof FeatureOffError && err.code === 'FEATURE_OFF' && err.cause === fault,
    );
    assert.equal(breakers.allowed('stun'), false);
    let ran = false;
    await assert.rejects(
      breakers.call('stun', async () => {
        ran = true;
        return 1;
      }),
      (err: unknown) => err instanceof FeatureOffError && err.offForMs === FEATURE_BACKOFF_MS,
    );
    assert.equal(ran, false, 'not run while off');
    clock.t = FEATURE_BACKOFF_MS;
    assert.equal(await breakers.call('stun', () => Promise.resolve(2)), 2);
  });

  it('announce keep-alive: a tick that throws is switched off, then tried again, never crashing the timer', async () => {
    const clock = new VirtualClock();
    const changes: FeatureChange[] = [];
    const breakers = new FeatureBreakers(clock, (c) => changes.push(c));
    let asked = 0;
    let pings = 0;
    let broken = true;
    const keepAlive = new AnnounceKeepAlive(
      clock,
      20_000,
      async () => {
        pings++;
      },
      () => {
        asked++;
        if (broken) throw new Error('NAT report unreadable');
        return true;
      },
      breakers,
    );
    keepAlive.remember([{ host: '10.0.0.1', port: 1, family: 4 }]);
    await clock.advance(20_000);
    assert.equal(asked, 1);
    assert.equal(changes[0]?.feature, KEEPALIVE_FEATURE);
    assert.equal(changes[0]?.state, 'off');
    await clock.advance(20_000);
    assert.equal(asked, 1, 'off: the tick is skipped');
    broken = false;
    await clock.advance(FEATURE_BACKOFF_MS);
    assert.ok(asked >= 2, 'tried again after the back-off');
    assert.ok(pings >= 1, 'and it pings again');
    assert.equal(changes.at(-1)?.state, 'on');
    keepAlive.close();
  });

  it('statistics: a listener that throws is switched off instead of failing the lookup that emitted', async () => {
    const { clock, nodes, close } = await network(12, 3);
    const dht = nodes[4]!;
    const stats = new Statistics(dht, { tickMs: 60_000 });
    stats.start();
    const seen: FeatureChange[] = [];
    dht.events.on('feature', (c) => seen.push(c));
    (stats as unknown as { recordLookup: () => void }).recordLookup = () => {
      throw new Error('histogram corrupted');
    };
    // Without the breaker the throw escapes emit('lookup:finished') and rejects the lookup.
    const found = await clock.run(dht.findNode(nodes[7]!.id));
    assert.ok(found.length > 0, 'the lookup still returns');
    assert.equal(seen[0]?.feature, STATISTICS_FEATURE);
    assert.equal(seen[0]?.state, 'off');
    assert.deepEqual(
      dht.stats().features.map((f) => [f.feature, f.state]),
      [[STATISTICS_FEATURE, 'off']],
    );
    const snapshot = await stats.snapshot();
    assert.equal(snapshot.features[0]?.feature, STATISTICS_FEATURE, 'reported in the status snapshot');
    stats.stop();
    await close();
  });

  it('path cache: a getter whose cache step throws still gets the item; the cache is off for a while', async () => {
    const { clock, nodes, close } = await network(30, 5, ['adaptive-timeouts', 'path-cache']);
    const put = await clock.run(nodes[3]!.putImmutable(text('cached along the path')));
    const reader = nodes[20]!;
    const original = Misses.prototype.pick;
    let picks = 0;
    Misses.prototype.pick = function () {
      picks++;
      throw new Error('cache bookkeeping broken');
    };
    try {
      const got = await clock.run(reader.get(put.target));
      assert.equal(Buffer.from(got?.v as Uint8Array).toString(), 'cached along the path');
      assert.equal(picks, 1);
      assert.deepEqual(
        reader.stats().features.map((f) => [f.feature, f.state]),
        [[PATH_CACHE_FEATURE, 'off']],
      );
      await clock.run(reader.get(put.target));
      assert.equal(picks, 1, 'off: the next get does not try the cache');
    } finally {
      Misses.prototype.pick = original;
    }
    await close();
  });
});
