import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CHAOS_DEFAULTS, runChaos } from '../../src/cli/chaos/harness.js';
import { CHAOS_PREFIX } from '../../src/cli/chaos/netns.js';

const namespaces = (): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(CHAOS_PREFIX));

describe('kadmium chaos: real nodes in network namespaces', () => {
  // The full run (docs/LATENCY.md) holds each fault 30 s; here 4 s keeps the suite short.
  it('lookups survive loss, a partition heals, a killed side rejoins, a Redis restart loses nothing, and nothing is left behind', async () => {
    const before = namespaces();
    const reports = await runChaos({ ...CHAOS_DEFAULTS, nodes: 3, faultMs: 4_000, recoverLimitMs: 30_000 });
    const by = new Map(
      reports.map((r) => [r.fault.split(' ').slice(-1)[0] === 'loss' ? 'loss' : r.fault, r]),
    );
    const lossy = by.get('loss');
    assert.ok(lossy && !lossy.skipped, JSON.stringify(reports));
    assert.ok(
      lossy.during.cross.count > 0 && lossy.during.cross.ok / lossy.during.cross.count >= 0.5,
      JSON.stringify(lossy),
    );
    const cut = by.get('partition');
    assert.ok(cut, JSON.stringify(reports));
    assert.equal(cut.during.cross.ok, 0, 'nothing crosses a partition');
    assert.ok(cut.during.local.ok > 0, 'each side keeps working on its own');
    for (const r of reports) {
      if (r.skipped) continue;
      assert.notEqual(r.recoverMs, undefined, `${r.fault} never recovered`);
      assert.ok(
        r.after.cross.ok / r.after.cross.count >= 0.8,
        `${r.fault}: after ${JSON.stringify(r.after)}`,
      );
    }
    assert.ok(by.get('kill side B'), 'the kill fault ran');
    // Redis restart: side A's storage comes back empty and the breakers write everything back.
    const restart = reports.find((r) => r.fault.startsWith('Redis restart'));
    assert.ok(restart && !restart.skipped, `the Redis restart ran: ${JSON.stringify(restart)}`);
    assert.ok(restart.stored && restart.stored.before > 0, `side A stored peers: ${JSON.stringify(restart)}`);
    assert.equal(restart.stored.lost, 0, `zero stored peers lost: ${JSON.stringify(restart)}`);
    assert.ok(restart.during.cross.ok > 0, 'lookups keep working while Redis is down');
    assert.deepEqual(namespaces(), before, 'the namespaces were removed');
  });
});
