/**
 * A NATed announcer stays punchable after its NAT would have forgotten it: two port-restricted
 * announcers whose NAT boxes drop idle UDP mappings after MAPPING_TIMEOUT_S; one keeps the nodes
 * storing its announce alive (announceKeepAlive), one does not. Past the timeout, a punch through
 * the storing node reaches the first and not the second. Needs root (namespaces, iptables).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Agent } from './harness.js';
import { Testbed } from './testbed.js';

function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'the NAT test bed needs root (ip netns, iptables)';
  return undefined;
}

/** The bed's shortened mapping timeout; the test waits past it. */
const MAPPING_TIMEOUT_S = 3;
const WAIT_MS = MAPPING_TIMEOUT_S * 1000 + 2_000;
/** The keep-alive interval in the test: below the shortened timeout, as 20 s is below 30 s. */
const KEEPALIVE_MS = 1_000;
const PORT = 6881;

describe('keep-alive for NATed announcers', { skip: canRun(), timeout: 60_000 }, () => {
  let bed: Testbed;
  const agents = new Map<string, Agent>();
  const agent = (n: string): Agent => agents.get(n)!;
  const numbers: Record<string, unknown> = {};

  before(async () => {
    bed = new Testbed();
    const rv = bed.addOpen('rv');
    bed.addOpen('getter');
    bed.addNatted('kept', 'port-restricted');
    bed.addNatted('idle', 'port-restricted');
    for (const n of ['kept', 'idle']) bed.setUdpTimeout(n, MAPPING_TIMEOUT_S);
    for (const n of ['rv', 'getter', 'kept', 'idle']) agents.set(n, Agent.spawn(bed, n));
    await agent('rv').call('start', { port: PORT });
    const boot = [`${rv.ip}:${PORT}`];
    await agent('getter').call('start', { port: PORT, bootstrap: boot });
    await agent('kept').call('start', {
      port: PORT,
      bootstrap: boot,
      keepAlive: true,
      keepAliveMs: KEEPALIVE_MS,
    });
    await agent('idle').call('start', { port: PORT, bootstrap: boot, keepAlive: false });
  });

  after(() => {
    for (const a of agents.values()) a.close();
    bed?.teardown();
    if (process.env.KADMIUM_KEEPALIVE_TABLE)
      writeFileSync(process.env.KADMIUM_KEEPALIVE_TABLE, JSON.stringify(numbers, null, 2));
  });

  it(`punches the announcer that keeps alive, ${WAIT_MS / 1000} s after its announce, and not the other`, async () => {
    const hashes = { kept: 'ab'.repeat(20), idle: 'cd'.repeat(20) };
    for (const n of ['kept', 'idle'] as const) {
      const r = await agent(n).call<{ announcedTo: number }>('announce', { infoHash: hashes[n] });
      assert.ok(r.announcedTo >= 1, `${n} announced`);
    }
    const targets: Record<string, string> = {};
    for (const n of ['kept', 'idle'] as const) {
      const { peers } = await agent('getter').call<{ peers: string[] }>('find-peers', {
        infoHash: hashes[n],
      });
      const t = peers.find((p) => p.startsWith(`${bed.host(n).publicIp}:`));
      assert.ok(t, `the getter found ${n}'s peer`);
      targets[n] = t;
    }
    // Past the NAT boxes' mapping timeout: only keep-alives hold a mapping open now.
    await new Promise((r) => setTimeout(r, WAIT_MS));
    const via = `${bed.host('rv').ip}:${PORT}`;
    const kept = await agent('getter').call<{ technique: string; ms: number }>('punch', {
      target: targets.kept,
      via,
      timeoutMs: 2_000,
    });
    assert.ok(kept.ms < 2_000, `punched the kept-alive announcer in ${kept.ms} ms`);
    await assert.rejects(
      agent('getter').call('punch', { target: targets.idle, via, timeoutMs: 2_000 }),
      'the announcer without keep-alive is no longer punchable (its NAT forgot the storing node)',
    );
    const stats = await agent('kept').call<{ punch: unknown }>('stats');
    numbers.kept = { ...kept, waitedMs: WAIT_MS, punch: stats.punch };
  });
});
