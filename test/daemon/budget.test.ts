import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/daemon.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

describe('daemon resource budgets', () => {
  it('a heap budget the process is far over puts the node under severe pressure and logs what shrank', async () => {
    // 1 MiB: any Node.js process is past 1.25x that, so the first tick is level 2.
    const config = testConfig([], {
      'stats.tick_ms': '200',
      'budget.memory_mb': '1',
      'api.enabled': 'false',
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
