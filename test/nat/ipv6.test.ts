/**
 * IPv6 first, on the test bed's dual-stack public segment (198.51.100.0/24 and 2001:db8::/64):
 * Mainline nodes run both families and report IPv6 as preferred; overlay nodes named with both
 * addresses connect over IPv6 (Happy Eyeballs), and fall back to IPv4 one short delay later when
 * IPv6 packets are dropped. Needs root (namespaces, ip6tables); the numbers go to
 * $KADMIUM_IPV6_TABLE (JSON) when set, for docs/NAT.md.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { HAPPY_EYEBALLS_DELAY_MS } from '../../src/transport/stream/happy-eyeballs.js';
import { Agent } from './harness.js';
import { Testbed } from './testbed.js';

function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'the NAT test bed needs root (ip netns, ip6tables)';
  return undefined;
}

const HOSTS = ['a', 'b', 'c', 'd'] as const;
const OVERLAY_PORT = 7000;
const DHT_PORT = 6881;

interface Families {
  open: number;
  openByFamily: { v4: number; v6: number };
}

describe('IPv6 first on the dual-stack segment', { skip: canRun(), timeout: 60_000 }, () => {
  let bed: Testbed;
  const agents = new Map<string, Agent>();
  const numbers: Record<string, unknown> = {};
  const agent = (n: string): Agent => agents.get(n)!;
  /** "PUBKEY@v4:port,[v6]:port": v4 named first, so only a v6 preference dials v6. */
  let bootA = '';

  before(async () => {
    bed = new Testbed();
    for (const n of HOSTS) bed.addOpen(n);
    for (const n of HOSTS) agents.set(n, Agent.spawn(bed, n));
  });

  after(() => {
    for (const a of agents.values()) a.close();
    bed?.teardown();
    if (process.env.KADMIUM_IPV6_TABLE)
      writeFileSync(process.env.KADMIUM_IPV6_TABLE, JSON.stringify(numbers, null, 2));
  });

  it('Mainline: both families work, lookups find IPv6 peers first, stats prefer IPv6', async () => {
    const a = bed.host('a');
    await agent('a').call('start', { port: DHT_PORT, ipv6: true });
    const boot = [`${a.ip}:${DHT_PORT}`, `[${a.ip6}]:${DHT_PORT}`];
    for (const n of ['b', 'c']) await agent(n).call('start', { port: DHT_PORT, ipv6: true, bootstrap: boot });
    const hash = 'c0ffee'.padEnd(40, '6');
    await agent('b').call('announce', { infoHash: hash });
    const { peers } = await agent('c').call<{ peers: string[] }>('find-peers', { infoHash: hash });
    const b = bed.host('b');
    assert.ok(peers.includes(`[${b.ip6}]:${DHT_PORT}`), `b's v6 peer not found: ${peers.join(' ')}`);
    assert.ok(peers.includes(`${b.ip}:${DHT_PORT}`), `b's v4 peer not found: ${peers.join(' ')}`);
    assert.equal(peers[0], `[${b.ip6}]:${DHT_PORT}`, 'the IPv6 peer comes first');
    const stats = await agent('c').call<{ families: { preferred: number; v6?: { nodes: number } } }>('stats');
    assert.equal(stats.families.preferred, 6);
    assert.ok((stats.families.v6?.nodes ?? 0) >= 1);
    const status = await agent('c').call<{ families: { preferred: number } }>('status');
    assert.equal(status.families.preferred, 6);
    numbers.mainline = { peers, families: stats.families };
  });

  it('overlay: a peer named with both addresses is reached over IPv6, and a put/get works', async () => {
    const a = bed.host('a');
    const started = await agent('a').call<{ self: string }>('overlay-start', { port: OVERLAY_PORT });
    bootA = `${started.self}@${a.ip}:${OVERLAY_PORT},[${a.ip6}]:${OVERLAY_PORT}`;
    const keys: Record<string, string> = {};
    for (const n of ['b', 'c']) {
      const r = await agent(n).call<{ ok: boolean; self: string }>('overlay-start', {
        port: OVERLAY_PORT,
        bootstrap: [bootA],
      });
      assert.ok(r.ok, `${n} joined`);
      keys[n] = r.self;
    }
    const put = await agent('b').call<{ stored: number }>('overlay-put', { value: 'over v6' });
    assert.ok(put.stored >= 1);
    const got = await agent('c').call<{ value: string | null }>('overlay-get', { publicKey: keys.b });
    assert.equal(got.value, 'over v6');
    for (const n of ['b', 'c']) {
      const s = await agent(n).call<Families>('overlay-stats');
      assert.ok(s.openByFamily.v6 >= 1, `${n}: ${JSON.stringify(s.openByFamily)}`);
      assert.equal(s.openByFamily.v4, 0, `${n} used IPv4: ${JSON.stringify(s.openByFamily)}`);
      numbers[`overlay-${n}`] = s.openByFamily;
    }
  });

  it('overlay: IPv6 dropped on the way, the dial falls back to IPv4 one delay later', async () => {
    // a silently drops d's IPv6 TCP (no RST): only the Happy-Eyeballs timer moves d on to IPv4.
    bed.exec('a', 'ip6tables', [
      '-A', 'INPUT', '-p', 'tcp', '--dport', String(OVERLAY_PORT), '-s', bed.host('d').ip6!, '-j', 'DROP',
    ]); // prettier-ignore
    const t0 = performance.now();
    const r = await agent('d').call<{ ok: boolean }>('overlay-start', {
      port: OVERLAY_PORT,
      bootstrap: [bootA],
    });
    const joinMs = Math.round(performance.now() - t0);
    assert.ok(r.ok, 'd joined through the IPv4 fallback');
    const s = await agent('d').call<Families>('overlay-stats');
    // a over IPv4 (the fallback); b and c, learned from a at their IPv6 addresses, over IPv6.
    assert.equal(s.openByFamily.v4, 1, JSON.stringify(s.openByFamily));
    assert.ok(s.openByFamily.v6 >= 1, JSON.stringify(s.openByFamily));
    assert.ok(joinMs >= HAPPY_EYEBALLS_DELAY_MS, `joined in ${joinMs} ms, before the fallback delay`);
    numbers.fallback = { joinMs, openByFamily: s.openByFamily };
  });
});
