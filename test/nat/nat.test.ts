/**
 * NAT traversal on a real NAT test bed (Linux namespaces, iptables NAT, coturn): classification
 * of every NAT type by STUN, lookups and announces from behind NAT, and hole punching between
 * every pair of NAT types. Needs root and scripts/deps/nat.sh; the pair table goes to
 * $KADMIUM_NAT_TABLE (JSON) when set, for docs/NAT.md.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Agent, AGENT_START_MS, startCoturn, TURN_PASSWORD, TURN_USER } from './harness.js';
import { NAT_TYPES, type NatType, Testbed } from './testbed.js';

const SHORT: Record<NatType, string> = {
  open: 'open',
  'full-cone': 'full',
  'address-restricted': 'addr',
  'port-restricted': 'port',
  symmetric: 'symm',
};
/** The goal: any pair with at most one symmetric side connects within this, every time. */
const PUNCH_GOAL_MS = 2_000;
/** How long hyperdht gets per connection (the trial saw 0.5-8 s, once 12 s). */
const HYPER_CONNECT_MS = 8_000;

/** Only what no install can fix skips; a missing tool fails loudly (scripts/deps/nat.sh installs it). */
function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'the NAT test bed needs root (ip netns, iptables)';
  return undefined;
}

/** Theory: what a pair can do without port prediction. */
export function expectedDirect(a: NatType, b: NatType): boolean {
  if (a === 'symmetric' && b === 'symmetric') return false;
  // A symmetric side's port towards us is new and unpredictable; a port-restricted NAT only
  // lets in the port it sent to, so neither side's packets get through.
  if ((a === 'symmetric' && b === 'port-restricted') || (b === 'symmetric' && a === 'port-restricted'))
    return false;
  return true;
}

const skip = canRun();

describe('NAT test bed', { skip, timeout: 240_000 }, () => {
  let bed: Testbed;
  const agents = new Map<string, Agent>();
  let rv = '';
  /** A public kadmium node that offers to relay (`relay: true`). */
  let relayNode = '';
  let stunAddr = '';
  const hashes = new Map<string, string>();
  const names: string[] = [];
  const rows: { a: NatType; b: NatType; ok: boolean; technique: string; ms: number }[] = [];
  const hyperRows: typeof rows = [];
  const nodeRelayRows: typeof rows = [];

  /** Find b's announced peer from a, wipe both NATs' state, refresh both mappings to the rendezvous, punch. */
  async function pair(
    ta: NatType,
    tb: NatType,
    via = rv,
  ): Promise<{ ok: boolean; technique: string; ms: number }> {
    const a = `${SHORT[ta]}1`;
    const b = `${SHORT[tb]}2`;
    const found = await agents.get(a)!.call<{ peers: string[] }>('find-peers', { infoHash: hashes.get(b) });
    const target = found.peers.find((p) => p.startsWith(`${bed.host(b).publicIp}:`));
    assert.ok(target, `${a} found no peer for ${b}`);
    // A clean slate: no mapping or permission left from the lookups, as between strangers.
    // Then both refresh their mapping to the rendezvous, as a NATed node's keep-alive does.
    bed.forget(a, b);
    await agents.get(a)!.call('ping', { to: via });
    await agents.get(b)!.call('ping', { to: via });
    try {
      const r = await agents.get(a)!.call<{ technique: string; ms: number }>('punch', { target, via });
      return { ok: true, technique: r.technique, ms: r.ms };
    } catch {
      return { ok: false, technique: 'none', ms: PUNCH_GOAL_MS };
    }
  }

  before(async () => {
    bed = new Testbed();
    const stun = bed.addOpen('stun', 1);
    const rvHost = bed.addOpen('rv');
    rv = `${rvHost.ip}:6881`;
    relayNode = `${bed.addOpen('relay').ip}:6881`;
    for (const t of NAT_TYPES)
      for (const i of [1, 2]) {
        const n = `${SHORT[t]}${i}`;
        if (t === 'open') bed.addOpen(n);
        else bed.addNatted(n, t);
        names.push(n);
      }
    const ips = bed
      .exec('stun', 'ip', ['-4', '-o', 'addr', 'show', 'wan'])
      .split('\n')
      .filter(Boolean)
      .map((l) => (l.split(/\s+/)[3] as string).split('/')[0] as string);
    assert.equal(ips[0], stun.ip);
    stunAddr = `${stun.ip}:3478`;
    await startCoturn(bed, 'stun', ips);
    const rva = Agent.spawn(bed, 'rv');
    agents.set('rv', rva);
    await rva.call('start', { port: 6881 }, AGENT_START_MS);
    const relayAgent = Agent.spawn(bed, 'relay');
    agents.set('relay', relayAgent);
    await relayAgent.call('start', { port: 6881, relay: true, bootstrap: [rv] }, AGENT_START_MS);
    for (const n of names) agents.set(n, Agent.spawn(bed, n));
    await Promise.all(
      names.map((n) => agents.get(n)!.call('start', { port: 6881, bootstrap: [rv] }, AGENT_START_MS)),
    );
    names.forEach((n, i) => hashes.set(n, (i + 1).toString(16).padStart(40, 'a')));
  });

  after(() => {
    for (const a of agents.values()) a.close();
    bed?.teardown();
  });

  it('classifies every NAT type with STUN against coturn, over the DHT socket', async () => {
    const reports = await Promise.all(
      names.map((n) =>
        agents
          .get(n)!
          .call<{ kind: string; external: string; observersAgree: boolean }>('nat', { stun: stunAddr }),
      ),
    );
    for (const [i, n] of names.entries()) {
      const host = bed.host(n);
      const r = reports[i]!;
      assert.equal(r.kind, host.nat, `${n} is behind a ${host.nat} NAT, STUN said ${r.kind}`);
      assert.equal(r.external.split(':')[0], host.publicIp, `${n}'s external address`);
      // Behind a cone NAT the DHT socket keeps its port; --random-fully never does.
      if (host.nat !== 'symmetric') assert.equal(r.external.split(':')[1], '6881');
    }
    const stats = await agents.get('symm1')!.call<{ nat: { kind: string } }>('stats');
    assert.equal(stats.nat.kind, 'symmetric', 'stats().nat carries the report');
    const status = await agents
      .get('addr1')!
      .call<{ nat: { kind: string } | null; metrics: string }>('status');
    assert.equal(status.nat?.kind, 'address-restricted', 'the status snapshot (dashboard) shows the NAT');
    assert.match(
      status.metrics,
      /kadmium_nat_info\{kind="address-restricted",mapping="endpoint-independent",filtering="address-dependent"\} 1/,
    );
    const events = await agents.get('port1')!.call<{ type: string; kind?: string }[]>('events');
    assert.ok(
      events.some((e) => e.type === 'nat' && e.kind === 'port-restricted'),
      'a nat event was emitted',
    );
  });

  it('announces and lookups from behind every NAT succeed', async () => {
    const announced = await Promise.all(
      names.map((n) => agents.get(n)!.call<{ announcedTo: number }>('announce', { infoHash: hashes.get(n) })),
    );
    for (const [i, n] of names.entries())
      assert.ok(announced[i]!.announcedTo > 0, `${n} announced to nobody`);
    for (const n of names) {
      const other = names[(names.indexOf(n) + 2) % names.length]!;
      const r = await agents.get(n)!.call<{ peers: string[] }>('find-peers', { infoHash: hashes.get(other) });
      assert.ok(
        r.peers.some((p) => p.startsWith(`${bed.host(other).publicIp}:`)),
        `${n} looked up ${other}'s peer and got ${r.peers.join(', ')}`,
      );
    }
  });

  it('punches a direct path between every pair theory allows, in under 2 s', async () => {
    for (let i = 0; i < NAT_TYPES.length; i++)
      for (let j = i; j < NAT_TYPES.length; j++) {
        const ta = NAT_TYPES[i]!;
        const tb = NAT_TYPES[j]!;
        rows.push({ a: ta, b: tb, ...(await pair(ta, tb)) });
      }
    for (const r of rows) {
      if (expectedDirect(r.a, r.b)) {
        assert.ok(r.ok, `${r.a} -> ${r.b} must punch through: ${JSON.stringify(rows)}`);
        assert.ok(r.ms < PUNCH_GOAL_MS, `${r.a} -> ${r.b} took ${r.ms} ms`);
      } else {
        assert.equal(
          r.ok,
          false,
          `${r.a} -> ${r.b} punched, which theory says cannot happen: check the NAT rules`,
        );
      }
    }
  });

  it('reaches the pairs punching cannot through a public kadmium node that relays, in under 2 s', async () => {
    const failed = rows.filter((r) => !r.ok);
    assert.ok(failed.length > 0, 'the punch test ran first and left pairs for the relay');
    for (const f of failed) {
      const r = await pair(f.a, f.b, relayNode);
      nodeRelayRows.push({ a: f.a, b: f.b, ...r });
      assert.ok(r.ok, `${f.a} -> ${f.b} through the relaying node failed`);
      assert.equal(r.technique, 'relayed');
      assert.ok(r.ms < PUNCH_GOAL_MS, `${f.a} -> ${f.b} through the relaying node took ${r.ms} ms`);
    }
    const relayStats = await agents
      .get('relay')!
      .call<{ relay: { serving: { opened: number; datagrams: number; bytes: number } } }>('stats');
    assert.equal(relayStats.relay.serving.opened, failed.length, 'one circuit per pair');
    assert.ok(relayStats.relay.serving.datagrams >= 2 * failed.length, 'KRPC went both ways');
    const a = await agents
      .get(`${SHORT[failed[0]!.a]}1`)!
      .call<{ relay: { viaNodes: { sent: number; received: number } } }>('stats');
    assert.ok(a.relay.viaNodes.sent > 0 && a.relay.viaNodes.received > 0);
    const status = await agents.get('relay')!.call<{ metrics: string }>('status');
    assert.match(status.metrics, /kadmium_relay_circuits_total\{outcome="opened"\} [1-9]/);
    // The rendezvous does not relay (relay is opt-in): asked, it says so. The pair may still meet
    // by a probe that rides stray traffic left from the lookup (punched-reflexive, seen in CI),
    // so the check is what this is about: nothing was relayed, and the rendezvous runs no relay.
    const refused = await pair('symmetric', 'symmetric');
    assert.notEqual(refused.technique, 'relayed', 'a node without relay: true relayed');
    const rvStats = await agents.get('rv')!.call<{ relay: { serving?: { opened: number } } }>('stats');
    assert.equal(rvStats.relay.serving, undefined, 'the rendezvous runs a relay server without relay: true');
  });

  it('reaches the pairs punching cannot through a TURN relay on coturn', async () => {
    const failed = rows.filter((r) => !r.ok);
    assert.ok(failed.length > 0, 'the punch test ran first and left pairs for the relay');
    for (const f of failed) {
      const a = agents.get(`${SHORT[f.a]}1`)!;
      const alloc = await a.call<{ relayed: string }>('relay', {
        turn: stunAddr,
        username: TURN_USER,
        password: TURN_PASSWORD,
      });
      assert.ok(
        alloc.relayed.startsWith(`${stunAddr.split(':')[0]}:`),
        `relayed address ${alloc.relayed} is coturn's`,
      );
      const r = await pair(f.a, f.b);
      rows.push({ a: f.a, b: f.b, ...r });
      assert.ok(r.ok, `${f.a} -> ${f.b} through the relay failed`);
      assert.equal(r.technique, 'relayed');
      assert.ok(r.ms < PUNCH_GOAL_MS, `${f.a} -> ${f.b} through the relay took ${r.ms} ms`);
      const stats = await a.call<{ relay: { sent: number; received: number } }>('stats');
      const status = await a.call<{ metrics: string }>('status');
      assert.match(status.metrics, /kadmium_relay_datagrams_total\{direction="sent"\} [1-9]/);
      assert.ok(stats.relay.sent > 0 && stats.relay.received > 0, 'KRPC went both ways through coturn');
    }
  });

  it('runs hyperdht on the same bed for the comparison column', async () => {
    const hyperRv = Agent.spawnHyper(bed, 'rv');
    agents.set('rv-hyper', hyperRv);
    // Inside the bed's own namespaces a fixed port collides with nothing.
    await hyperRv.call('bootstrapper', { port: 49737, host: rv.split(':')[0] });
    const boot = [`${rv.split(':')[0]}:49737`];
    for (let i = 0; i < NAT_TYPES.length; i++)
      for (let j = i; j < NAT_TYPES.length; j++) {
        const ta = NAT_TYPES[i]!;
        const tb = NAT_TYPES[j]!;
        const client = Agent.spawnHyper(bed, `${SHORT[ta]}1`);
        const server = Agent.spawnHyper(bed, `${SHORT[tb]}2`);
        try {
          const l = await server.call<{ publicKey: string }>('listen', { bootstrap: boot }, 15_000);
          await client.call('start', { bootstrap: boot }, 15_000);
          const r = await client.call<{ ok: boolean; ms: number }>(
            'connect',
            { publicKey: l.publicKey, timeoutMs: HYPER_CONNECT_MS },
            HYPER_CONNECT_MS + 5_000,
          );
          hyperRows.push({ a: ta, b: tb, ok: r.ok, technique: 'hyperdht', ms: r.ms });
        } finally {
          client.close();
          server.close();
        }
      }
    if (process.env.KADMIUM_NAT_TABLE)
      writeFileSync(
        process.env.KADMIUM_NAT_TABLE,
        JSON.stringify({ kadmium: rows, nodeRelay: nodeRelayRows, hyperdht: hyperRows }, null, 1),
      );
    const baseline = hyperRows.find((r) => r.a === 'open' && r.b === 'open');
    assert.ok(
      baseline?.ok,
      `hyperdht could not even connect open to open on the bed: ${JSON.stringify(hyperRows)}`,
    );
  });
});
