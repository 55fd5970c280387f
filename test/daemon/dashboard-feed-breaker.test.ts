/**
 * The dashboard's live feed behind a feature breaker (issue 15, item 7): a snapshot that throws
 * switches the feed off (reported, logged), not the statistics tick it runs in, and the node keeps
 * answering; after the back-off the feed pushes again. The node runs on a virtual clock, so the
 * statistics ticks and the back-off are stepped, not waited for. Without the breaker this test
 * fails: the failure is only logged, nothing reports the feed off.
 */
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/daemon.js';
import { DASHBOARD_FEED_FEATURE } from '../../src/daemon/live.js';
import { Dht } from '../../src/node/dht.js';
import { FEATURE_BACKOFF_MS } from '../../src/node/feature-breakers.js';
import { STATISTICS_FEATURE, Statistics } from '../../src/services/statistics.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

const TICK_MS = 1_000;

describe('dashboard feed breaker', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('a snapshot that throws switches the feed off, not the statistics; it pushes again after the back-off', async () => {
    const clock = new VirtualClock();
    const config = testConfig([], { 'stats.tick_ms': String(TICK_MS), 'storage.backend': 'memory' });
    const { log, lines } = memoryLogger();
    const daemon = await Daemon.start({ config, log, dht: { clock } });
    cleanup.push(() => daemon.stop());
    const peer = new Dht({ host: '127.0.0.1', port: 0, bootstrap: false, ipv6: false });
    cleanup.push(() => peer.close());
    await peer.listen();

    // A dashboard: count the snapshots pushed on the SSE stream.
    let snapshots = 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${daemon.url ?? ''}events`, resolve).on('error', reject),
    );
    cleanup.push(() => void res.destroy());
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (snapshots += chunk.split('event: snapshot').length - 1));
    await waitFor(() => snapshots >= 1, 5_000, 'the first snapshot on connect');

    const original = Statistics.prototype.snapshot;
    Statistics.prototype.snapshot = () => {
      throw new Error('snapshot state corrupted');
    };
    cleanup.push(() => void (Statistics.prototype.snapshot = original));
    await clock.advance(TICK_MS);
    const off = await waitFor(
      () => daemon.dht.stats().features.find((f) => f.feature === DASHBOARD_FEED_FEATURE),
      5_000,
      'the feed reported off',
    );
    assert.equal(off.state, 'off');
    assert.ok(
      !daemon.dht.stats().features.some((f) => f.feature === STATISTICS_FEATURE),
      'the statistics tick it runs in stays on',
    );
    assert.ok(
      lines.some(
        (l) =>
          String(l.msg).startsWith(`optional feature ${DASHBOARD_FEED_FEATURE} failed`) &&
          String(l.msg).includes('(dashboards get no new snapshots)'),
      ),
      'the daemon log says what it degraded',
    );
    const answered = await peer.ping(daemon.dht.address, { timeoutMs: 2_000 });
    assert.deepEqual(answered.id, daemon.dht.id, 'the node keeps answering');

    Statistics.prototype.snapshot = original;
    const before = snapshots;
    await clock.advance(FEATURE_BACKOFF_MS);
    await clock.advance(TICK_MS);
    await waitFor(() => snapshots > before, 5_000, 'a snapshot pushed after the back-off');
    assert.equal(daemon.dht.stats().features.find((f) => f.feature === DASHBOARD_FEED_FEATURE)?.state, 'on');
  });
});
