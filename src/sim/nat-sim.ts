/**
 * The `nat` scenario: what a lookup is worth when half the network is behind NAT. One node
 * announces, another finds it with get_peers and then connects to the peer it found.
 *
 * "Connect" means a KRPC ping answered by the announcer at an address the getter can use from
 * then on: the first step of any peer protocol. Without punching the getter pings the announced
 * address (and its retry). With punching it calls dht.punch() through the node that returned the
 * peer (it stores the announce, so the announcer queried it moments ago and its NAT lets it in):
 * that probes the announced address directly too, so public peers answer as fast as a ping.
 * With relays (`--relay on`, every public node offers `relay: true`) a failed punch asks the same
 * node to relay (node/relay-server.ts) and pings the peer through the circuit.
 *
 * The connect sample's latency runs from the start of get_peers to the answer: what a user
 * waits for a working path, lookup included. The connect starts as soon as the peer arrives,
 * while the lookup goes on.
 */
import type { Address } from '../transport/address.js';
import type { SimNatType } from './nat-model.js';
import type { SimContext } from './runner.js';
import type { Scenario } from './scenarios.js';
import type { OpSample, Workload } from './workloads.js';
import type { SimNode, SimWorld } from './world.js';

/** A connect that has not worked in this long has failed (a punch gives up after 2 s itself). */
export const CONNECT_TIMEOUT_MS = 5_000;

export type ConnectTechnique = 'direct' | 'punched' | 'punched-reflexive' | 'relayed';

/** How the getter tries to reach the peer it found. */
export interface ConnectPolicy {
  punch: boolean;
}

function natName(node: SimNode): SimNatType | 'open' {
  return node.natType ?? 'open';
}

async function connect(
  getter: SimNode,
  peer: Address,
  via: Address | undefined,
  policy: ConnectPolicy,
): Promise<ConnectTechnique | undefined> {
  try {
    if (policy.punch && via) {
      const r = await getter.dht.punch(peer, via, { timeoutMs: CONNECT_TIMEOUT_MS });
      return r.technique;
    }
    const reply = await getter.dht.ping(peer, { timeoutMs: CONNECT_TIMEOUT_MS });
    return reply.from.host === peer.host ? 'direct' : undefined;
  } catch {
    return undefined;
  }
}

export function connectWorkload(policy: ConnectPolicy): Workload {
  return {
    name: 'connect',
    lookupKind: 'connect',
    async run(world: SimWorld, out: OpSample[]) {
      const infoHash = world.randomId();
      const announcer = world.randomLive();
      const at = world.clock.now();
      const announced = await announcer.dht
        .announce(infoHash, { port: announcer.endpoint.address.port })
        .then((r) => r.announcedTo > 0)
        .catch(() => false);
      out.push({
        kind: 'announce',
        at,
        ok: announced,
        hops: 0,
        queries: 0,
        latencyMs: world.clock.now() - at,
      });
      const getter = world.randomLive((n) => n !== announcer);
      const host = announcer.endpoint.address.host;
      const started = world.clock.now();
      let via: Address | undefined;
      let connecting: Promise<ConnectTechnique | undefined> | undefined;
      let connectedAt = 0;
      let found = false;
      let hops = 0;
      let queries = 0;
      const off = getter.dht.events.on('lookup:finished', (e) => {
        if (e.kind === 'get_peers' && e.target === infoHash) {
          hops = e.hops;
          queries = e.queried;
        }
      });
      let lookupMs = 0;
      try {
        for await (const p of getter.dht.getPeers(infoHash, {
          onPeersFrom: (from, peers) => {
            if (via === undefined && peers.some((x) => x.host === host)) via = from;
          },
        })) {
          if (p.host !== host || connecting) continue;
          found = true;
          connecting = connect(getter, p, via, policy).then((t) => {
            connectedAt = world.clock.now();
            return t;
          });
        }
      } catch {
        // A failed lookup is a miss below.
      } finally {
        off();
        lookupMs = world.clock.now() - started;
      }
      out.push({ kind: 'get_peers', at: started, ok: found, hops, queries, latencyMs: lookupMs });
      const technique = connecting ? await connecting : undefined;
      const sample: OpSample = {
        kind: 'connect',
        at: started,
        ok: technique !== undefined,
        hops: 0,
        queries: 0,
        latencyMs: (technique !== undefined ? connectedAt : world.clock.now()) - started,
        pair: `${natName(getter)}>${natName(announcer)}`,
      };
      if (technique) sample.technique = technique;
      out.push(sample);
    },
  };
}

export interface ConnectBreakdown {
  /** Connects by technique (failed ones under "failed"). */
  techniques: Record<string, number>;
  /** Per getter>announcer NAT pair: attempts, successes, and successes by technique. */
  pairs: Record<string, { count: number; ok: number; by: Record<string, number> }>;
}

export function connectBreakdown(samples: readonly OpSample[]): ConnectBreakdown {
  const techniques: Record<string, number> = {};
  const pairs: ConnectBreakdown['pairs'] = {};
  for (const s of samples) {
    if (s.kind !== 'connect') continue;
    const t = s.technique ?? 'failed';
    techniques[t] = (techniques[t] ?? 0) + 1;
    const key = s.pair ?? '?';
    const p = (pairs[key] ??= { count: 0, ok: 0, by: {} });
    p.count++;
    if (s.ok) {
      p.ok++;
      p.by[t] = (p.by[t] ?? 0) + 1;
    }
  }
  return { techniques, pairs };
}

export const natScenario: Scenario = {
  name: 'nat',
  summary:
    'announce, get_peers, then connect to the peer found (--nat F behind NAT, --symmetric F of them symmetric, --punch on|off, --relay on|off)',
  async run(ctx: SimContext) {
    await ctx.buildNetwork(ctx.options.build ?? (ctx.options.nodes > 5_000 ? 'fast' : 'join'));
    const policy = { punch: ctx.options.punch ?? true };
    await ctx.phase('connect', connectWorkload(policy), ctx.lookups, Math.max(30_000, ctx.lookups * 100));
  },
};
