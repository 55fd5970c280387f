/**
 * The overlay's streams across every pair of NAT types on the test bed. Each NATed node waits at
 * a public splice relay; a node that dials one reaches it by the pool's order: the direct dial
 * (dropped by the NAT), then a TCP simultaneous open the relay coordinates, then a splice through
 * the relay. Theory for TCP on this bed: the cone boxes map TCP endpoint-independently (their
 * full-cone DNAT is UDP only), so every pair without a symmetric side opens directly; a symmetric
 * side maps the peer connection to a fresh random port, and those pairs take the relay. Each
 * pair then stores an item on the dialled node and reads it back from it. Needs root.
 * $KADMIUM_OVERLAY_NAT_TABLE (JSON) receives the pair table for docs/NAT.md.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Agent, AGENT_START_MS } from './harness.js';
import { NAT_TYPES, type NatType, Testbed } from './testbed.js';

function canRun(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'the NAT test bed needs root (ip netns, iptables)';
  return undefined;
}

const SHORT: Record<NatType, string> = {
  open: 'open',
  'full-cone': 'full',
  'address-restricted': 'addr',
  'port-restricted': 'port',
  symmetric: 'symm',
};
const OVERLAY_PORT = 7000;
const RELAY_PORT = 7001;
/** The goal: every pair connects within this, every time. */
const CONNECT_GOAL_MS = 2_000;
/** Polls for a registration at the relay: 50 ms apart, at most this many. */
const MAX_POLLS = 60;

interface Stats {
  outboundOpened: number;
  punchedOpened: number;
  punchedAccepted: number;
  relayedOpened: number;
  relayedAccepted: number;
  relay?: { spliced: number; calls: number; listeners: number; punches: number; listensRefused: number };
}

type Technique = 'direct' | 'simultaneous open' | 'relayed';

/** What the pool should use for this pair on this bed. */
function expected(a: NatType, b: NatType): Technique {
  if (b === 'open') return 'direct';
  return a === 'symmetric' || b === 'symmetric' ? 'relayed' : 'simultaneous open';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('overlay streams across NAT pairs', { skip: canRun(), timeout: 120_000 }, () => {
  let bed: Testbed;
  const agents = new Map<string, Agent>();
  const agent = (n: string): Agent => agents.get(n)!;
  const rows: { a: NatType; b: NatType; technique: Technique | 'failed'; ms: number; joinMs: number }[] = [];
  let relays: string[] = [];

  before(async () => {
    bed = new Testbed();
    bed.addOpen('relay');
    for (const t of NAT_TYPES)
      for (const n of [1, 2]) {
        const name = `${SHORT[t]}${n}`;
        if (t === 'open') bed.addOpen(name);
        else bed.addNatted(name, t);
      }
    for (const h of bed.hosts.keys()) agents.set(h, Agent.spawn(bed, h));
    // Every agent has loaded (a cheap command answered) before any pair's clock starts.
    await Promise.all([...agents.values()].map((a) => a.call('events', {}, AGENT_START_MS)));
    await agent('relay').call('overlay-start', {
      host: '0.0.0.0',
      port: OVERLAY_PORT,
      offerRelay: RELAY_PORT,
    });
    relays = [`${bed.host('relay').ip}:${RELAY_PORT}`];
  });

  after(() => {
    for (const a of agents.values()) a.close();
    bed?.teardown();
  });

  async function relayStats(): Promise<NonNullable<Stats['relay']>> {
    const s = await agent('relay').call<Stats>('overlay-stats');
    assert.ok(s.relay, 'the relay node offers a splice relay');
    return s.relay;
  }

  async function listenersAt(n: number): Promise<void> {
    let listeners = -1;
    for (let i = 0; i < MAX_POLLS && listeners !== n; i++) {
      listeners = (await relayStats()).listeners;
      if (listeners !== n) await sleep(50);
    }
    assert.equal(listeners, n, 'registrations at the relay (each one proved its key)');
  }

  /** b waits at the relay; a dials it at b's NAT's public address; then a put and a read from b. */
  async function pair(ta: NatType, tb: NatType): Promise<void> {
    const a = `${SHORT[ta]}1`;
    const b = `${SHORT[tb]}2`;
    bed.forget(a, b);
    // The last pair's registrations are gone (the relay saw their control connections close).
    await listenersAt(0);
    const before = await relayStats();
    const started = await agent(b).call<{ self: string }>('overlay-start', {
      host: '0.0.0.0',
      port: OVERLAY_PORT,
      relays,
    });
    await listenersAt(1);
    const peer = `${started.self}@${bed.host(b).publicIp}:${OVERLAY_PORT}`;
    try {
      const r = await agent(a).call<{ ok: boolean; joinMs: number; firstAnswerMs?: number; stats: Stats }>(
        'overlay-start',
        { host: '0.0.0.0', port: OVERLAY_PORT, relays, bootstrap: [peer] },
        15_000,
      );
      const s = r.stats;
      const technique: Technique | 'failed' = !r.ok
        ? 'failed'
        : s.punchedOpened > 0
          ? 'simultaneous open'
          : s.relayedOpened > 0
            ? 'relayed'
            : 'direct';
      const ms = r.firstAnswerMs ?? r.joinMs;
      rows.push({ a: ta, b: tb, technique, ms, joinMs: r.joinMs });
      assert.equal(technique, expected(ta, tb), `${a} -> ${b}: ${JSON.stringify(s)}`);
      assert.ok(ms < CONNECT_GOAL_MS, `${a} -> ${b} took ${ms} ms to its first answer`);
      const bStats = await agent(b).call<Stats>('overlay-stats');
      if (technique === 'simultaneous open') {
        assert.equal(s.relayedOpened, 0, 'no relayed connection beside the direct one');
        assert.ok(bStats.punchedAccepted >= 1, `${b} took the simultaneous open`);
        assert.equal((await relayStats()).spliced, before.spliced, 'the relay spliced nothing');
      }
      if (technique === 'relayed') assert.ok(bStats.relayedAccepted >= 1);
      const value = `${a} to ${b}`;
      const put = await agent(a).call<{ stored: number }>('overlay-put', { value });
      assert.ok(put.stored >= 1, `${a}'s item stored on ${b}`);
      const self = (await agent(a).call<{ self: string }>('overlay-self')).self;
      const got = await agent(a).call<{ value: string | null }>('overlay-get-from', {
        peer,
        publicKey: self,
      });
      assert.equal(got.value, value, `${b} holds ${a}'s item`);
    } finally {
      await agent(a).call('overlay-stop');
      await agent(b).call('overlay-stop');
    }
  }

  it('opens a direct path between cone NATs and relays only pairs with a symmetric side', async () => {
    for (let i = 0; i < NAT_TYPES.length; i++)
      for (let j = i; j < NAT_TYPES.length; j++) await pair(NAT_TYPES[i]!, NAT_TYPES[j]!);
    const relay = await relayStats();
    assert.ok(relay.punches >= 6 && relay.spliced >= 5, JSON.stringify(relay));
    if (process.env.KADMIUM_OVERLAY_NAT_TABLE)
      writeFileSync(process.env.KADMIUM_OVERLAY_NAT_TABLE, JSON.stringify(rows, null, 1));
    for (const r of rows)
      process.stdout.write(
        `# ${r.a} -> ${r.b}: ${r.technique}, first answer ${r.ms} ms, joined ${r.joinMs} ms\n`,
      );
  });
});
