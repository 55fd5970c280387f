import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/daemon.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

describe('daemon resource budgets', () => {
  it('a heap budget the process is far over puts both nodes under severe pressure and logs what shrank', async () => {
    // 1 MiB: any Node.js process is past 1.25x that, so the first tick is level 2.
    const config = testConfig([], {
      'stats.tick_ms': '200',
      'budget.memory_mb': '1',
      'api.enabled': 'false',
      'storage.backend': 'memory',
      'overlay.enabled': 'true',
      'overlay.host': '127.0.0.1',
      'overlay.port': '0',
      'overlay.difficulty': '0/0',
      'overlay.bootstrap': 'none',
    });
    const { log, lines } = memoryLogger();
    const daemon = await Daemon.start({ config, log });
    try {
      const line = await waitFor(
        () => lines.find((l) => String(l.msg).startsWith('resource pressure 2')),
        10_000,
        'the resource pressure log line',
      );
      assert.equal(line.level, 'warn');
      assert.match(String(line.msg), /heap \d+ MiB of 1 MiB/);
      assert.match(String(line.msg), /lookup parallelism 3 -> 1/);
      assert.equal(daemon.dht.lookupAlpha, 1);
      // The overlay starts after the Mainline node; the next tick applies the level in force.
      const overlayLine = await waitFor(
        () =>
          lines.find(
            (l) => String(l.msg).startsWith('resource pressure 2') && /overlay /.test(String(l.msg)),
          ),
        10_000,
        'the overlay resource pressure log line',
      );
      assert.match(String(overlayLine.msg), /overlay lookup parallelism 3 -> 1; RTT history capped at 64/);
    } finally {
      await daemon.stop();
    }
  });

  it('without a budget nothing is shrunk', async () => {
    const config = testConfig([], { 'stats.tick_ms': '200', 'api.enabled': 'false' });
    const { log, lines } = memoryLogger();
    const daemon = await Daemon.start({ config, log });
    try {
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(daemon.dht.lookupAlpha, 3);
      assert.ok(!lines.some((l) => String(l.msg).startsWith('resource pressure')));
    } finally {
      await daemon.stop();
    }
  });
});
