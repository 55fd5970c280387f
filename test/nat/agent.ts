/**
 * A kadmium node inside a test-bed namespace, driven over stdio: one JSON command per line in,
 * one JSON answer per line out ({ id, ok, result | error }). The test (nat.test.ts) spawns one per
 * host with `ip netns exec`; the process exits when stdin closes, so it never outlives the test.
 */
import { createInterface } from 'node:readline';
import { Dht } from '../../src/node/dht.js';
import { metricsText } from '../../src/services/metrics.js';
import { Statistics } from '../../src/services/statistics.js';
import { makeAddress, type Address } from '../../src/transport/address.js';
import { runOverlay } from './overlay-ops.js';

interface Command {
  id: number;
  op: string;
  [key: string]: unknown;
}

let dht: Dht | undefined;
const events: unknown[] = [];
/** Events kept for `events` commands; older ones are dropped. */
const MAX_EVENTS = 200;

function record(e: unknown): void {
  events.push(e);
  if (events.length > MAX_EVENTS) events.shift();
}

function addr(text: unknown): Address {
  const s = String(text);
  const at = s.lastIndexOf(':');
  return makeAddress(s.slice(0, at).replace(/^\[|\]$/g, ''), Number(s.slice(at + 1)));
}

function show(a: Address | undefined): string | undefined {
  return a ? (a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`) : undefined;
}

function node(): Dht {
  if (!dht) throw new Error('start the node first');
  return dht;
}

async function run(c: Command): Promise<unknown> {
  switch (c.op) {
    case 'start': {
      dht = new Dht({
        host: String(c.host ?? '0.0.0.0'),
        port: Number(c.port ?? 0),
        ipv6: c.ipv6 === true,
        bootstrap: (c.bootstrap as string[] | undefined) ?? false,
        secureIds: 'off',
        rateLimitLoopback: false,
        relay: c.relay === true,
        ...(c.keepAlive !== undefined ? { announceKeepAlive: c.keepAlive as boolean } : {}),
        ...(c.keepAliveMs !== undefined ? { announceKeepAliveMs: Number(c.keepAliveMs) } : {}),
      });
      dht.events.on('nat', (e) => record({ type: 'nat', kind: e.kind }));
      dht.events.on('nat:punched', (e) => record({ type: 'punched', ...e, address: show(e.address) }));
      dht.events.on('nat:punch-failed', (e) =>
        record({ type: 'punch-failed', ...e, target: show(e.target) }),
      );
      const r = c.bootstrap ? await dht.start() : { ok: true, address: await dht.listen() };
      return { ok: r.ok, address: show(dht.address), id: dht.stats().id };
    }
    case 'nat': {
      const r = await node().discoverNat(addr(c.stun));
      return { ...r, external: show(r.external), stunServer: show(r.stunServer) };
    }
    case 'punch': {
      const r = await node().punch(addr(c.target), addr(c.via), { timeoutMs: Number(c.timeoutMs ?? 3000) });
      return { ...r, address: show(r.address) };
    }
    case 'relay': {
      const r = await node().allocateRelay(addr(c.turn), {
        username: String(c.username),
        password: String(c.password),
      });
      return { relayed: show(r.relayed), mapped: show(r.mapped), lifetimeS: r.lifetimeS };
    }
    case 'ping': {
      const r = await node().ping(addr(c.to), { timeoutMs: Number(c.timeoutMs ?? 1000) });
      return { from: show(r.from), ip: show(r.ip), rttMs: r.rttMs };
    }
    case 'announce': {
      const r = await node().announce(Buffer.from(String(c.infoHash), 'hex'), { timeoutMs: 5000 });
      return { announcedTo: r.announcedTo };
    }
    case 'find-peers': {
      const peers = await node().findPeers(Buffer.from(String(c.infoHash), 'hex'), { timeoutMs: 5000 });
      return { peers: peers.map(show) };
    }
    case 'stats':
      return node().stats();
    case 'status': {
      // What the daemon's status endpoint, dashboard and /metrics show for this node.
      const stats = new Statistics(node());
      const snap = await stats.snapshot();
      return { nat: snap.nat, punch: snap.punch, families: snap.families, metrics: await metricsText(stats) };
    }
    case 'events':
      return events.splice(0);
    default:
      if (c.op.startsWith('overlay-')) return runOverlay(c);
      throw new Error(`unknown op ${c.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let c: Command;
  try {
    c = JSON.parse(line) as Command;
  } catch {
    return;
  }
  run(c).then(
    (result) => process.stdout.write(JSON.stringify({ id: c.id, ok: true, result }) + '\n'),
    (err: unknown) =>
      process.stdout.write(
        JSON.stringify({ id: c.id, ok: false, error: String(err instanceof Error ? err.message : err) }) +
          '\n',
      ),
  );
});
lines.on('close', () => {
  void dht?.close().finally(() => process.exit(0));
  if (!dht) process.exit(0);
});
