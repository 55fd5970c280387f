/**
 * The overlay across two symmetric NATs: neither node can dial the other (the NAT boxes drop
 * unsolicited SYNs), both reach a public node that offers a splice relay, and a put/get between
 * them runs through it. Needs root (namespaces, iptables).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from './harness.js';
import { Testbed } from './testbed.js';

function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'the NAT test bed needs root (ip netns, iptables)';
  return undefined;
}

const OVERLAY_PORT = 7000;
const RELAY_PORT = 7001;

interface Stats {
  relayedOpened: number;
  relayedAccepted: number;
  relay?: { spliced: number; calls: number; listeners: number };
}

describe('overlay through a splice relay across symmetric NATs', { skip: canRun(), timeout: 60_000 }, () => {
  let bed: Testbed;
  const agents = new Map<string, Agent>();
  const agent = (n: string): Agent => agents.get(n)!;

  before(() => {
    bed = new Testbed();
    bed.addOpen('relay');
    bed.addNatted('s1', 'symmetric');
    bed.addNatted('s2', 'symmetric');
    for (const n of ['relay', 's1', 's2']) agents.set(n, Agent.spawn(bed, n));
  });

  after(() => {
    for (const a of agents.values()) a.close();
    bed?.teardown();
  });

  it('two symmetric-NAT nodes reach each other through the relay; put/get works', async () => {
    const r = bed.host('relay');
    const started = await agent('relay').call<{ self: string }>('overlay-start', {
      host: '0.0.0.0',
      port: OVERLAY_PORT,
      offerRelay: RELAY_PORT,
    });
    const boot = `${started.self}@${r.ip}:${OVERLAY_PORT}`;
    const relays = [`${r.ip}:${RELAY_PORT}`];
    const s2 = await agent('s2').call<{ ok: boolean; self: string }>('overlay-start', {
      host: '0.0.0.0',
      port: OVERLAY_PORT,
      bootstrap: [boot],
      relays,
    });
    assert.ok(s2.ok);
    for (let i = 0; i < 50; i++) {
      const s = await agent('relay').call<Stats>('overlay-stats');
      if (s.relay?.listeners === 1) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    // s1 names s2 at its NAT's public address: the SYN is dropped there, so only the relay helps.
    const t0 = performance.now();
    const s1 = await agent('s1').call<{ ok: boolean; self: string }>(
      'overlay-start',
      {
        host: '0.0.0.0',
        port: OVERLAY_PORT,
        bootstrap: [boot, `${s2.self}@${bed.host('s2').publicIp}:${OVERLAY_PORT}`],
        relays,
      },
      15_000,
    );
    assert.ok(s1.ok);
    // The direct dial gives up after the 5 s handshake timeout (dropped SYNs), then the relay.
    let stats1 = await agent('s1').call<Stats>('overlay-stats');
    for (let i = 0; i < 50 && stats1.relayedOpened === 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      stats1 = await agent('s1').call<Stats>('overlay-stats');
    }
    const relayedMs = Math.round(performance.now() - t0);
    assert.ok(stats1.relayedOpened >= 1, `s1 dialled s2 through the relay: ${JSON.stringify(stats1)}`);
    const stats2 = await agent('s2').call<Stats>('overlay-stats');
    assert.ok(stats2.relayedAccepted >= 1);
    const put = await agent('s1').call<{ stored: number }>('overlay-put', { value: 'across two NATs' });
    assert.ok(put.stored >= 2, `stored on the relay node and on s2: ${put.stored}`);
    const got = await agent('s2').call<{ value: string | null }>('overlay-get', { publicKey: s1.self });
    assert.equal(got.value, 'across two NATs');
    const relayStats = await agent('relay').call<Stats>('overlay-stats');
    assert.ok((relayStats.relay?.spliced ?? 0) >= 1);
    process.stdout.write(`# s1 reached s2 through the relay ${relayedMs} ms after starting\n`);
  });
});
