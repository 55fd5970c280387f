/**
 * Discovery on the simulated overlay: V visors (unmodified OverlayNodes on virtual time over the
 * in-memory stream network), F full nodes and one discovery server (its rules, its mirror and its
 * own full node; the HTTP layer is not simulated). Every visor registers its dmsg entry and one
 * transport with the server, the mirror pushes them into the overlay, then the server stops and
 * random visors resolve entries and transports-by-edge from the DHT alone.
 *
 * Tables are seeded from the sorted id list (the simulator's fast build); all nodes are reachable.
 */
import { asNodeId } from '../kademlia/id.js';
import { OverlayNode } from '../node/overlay-node.js';
import { type DiscEntry, signEntry } from '../protocols/discovery/entry.js';
import { newTransportEntry, signTransport } from '../protocols/discovery/transport-entry.js';
import { OverlayIdentity } from '../protocols/overlay/identity.js';
import { OverlayStore } from '../protocols/overlay/store.js';
import { seedTables } from '../sim/fast-build.js';
import { SimulatedOverlayNet, spreadRefreshPhases } from '../sim/overlay-world.js';
import { VirtualClock } from '../sim/virtual-clock.js';
import { MemoryItemBackend } from '../storage/item-store.js';
import { toHex } from '../util/bytes.js';
import { SeededRandom } from '../util/random.js';
import { DhtDiscovery } from './adapter.js';
import { MemoryKv } from './kv.js';
import { Mirror } from './mirror.js';
import { DiscoveryState } from './state.js';

export interface DiscoverySimOptions {
  visors: number;
  fullNodes: number;
  /** Entry reads and transport reads after the server stops. */
  reads: number;
  seed: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface DiscoverySimReport {
  options: Omit<DiscoverySimOptions, 'onProgress'>;
  registered: { entries: number; transports: number };
  mirror: ReturnType<Mirror['stats']>;
  entryReads: { ok: number; total: number; p50Ms: number; p95Ms: number };
  transportReads: { ok: number; total: number; p50Ms: number; p95Ms: number };
  wallMs: number;
}

export async function simulateDiscovery(
  input: Partial<DiscoverySimOptions> & { visors: number },
): Promise<DiscoverySimReport> {
  const options: DiscoverySimOptions = { fullNodes: 3, reads: 300, seed: 1, ...input };
  const started = performance.now();
  const random = new SeededRandom(options.seed);
  const clock = new VirtualClock(1_700_000_000_000);
  const world = new SimulatedOverlayNet(clock, random);
  const total = options.visors + options.fullNodes + 1;
  const identities = OverlayIdentity.simulatedBatch(total, random);
  const serverIdentity = identities[total - 1] as OverlayIdentity;
  const trusted = new Set([toHex(serverIdentity.publicKey)]);
  const nodes: OverlayNode[] = [];
  for (let n = 0; n < total; n++) {
    const identity = identities[n] as OverlayIdentity;
    const address = world.place(n);
    const full = n >= options.visors;
    nodes.push(
      new OverlayNode({
        identity,
        transport: world.net.listen(identity.publicKey, address, { reachable: true }),
        clock,
        random,
        store: new OverlayStore(new MemoryItemBackend(), {
          fullNode: full,
          trusted,
          ...(full ? { maxItems: 10_000_000, publicPoolSize: 10_000_000 } : {}),
        }),
      }),
    );
  }
  seedTables(
    nodes.map((node) => ({ id: node.id, table: node.table })),
    nodes.map((node) => ({ id: asNodeId(node.id), address: node.address, key: node.publicKey })),
    random,
    clock.now(),
    20,
  );
  spreadRefreshPhases(nodes, clock.now(), random);
  const visors = nodes.slice(0, options.visors);
  const fullNodes = nodes.slice(options.visors, options.visors + options.fullNodes);
  const serverNode = nodes[total - 1] as OverlayNode;
  const mirror = new Mirror({
    node: serverNode,
    identity: serverIdentity,
    clock,
    fullNodes: fullNodes.map((n) => ({ publicKey: n.publicKey, address: n.address })),
  });
  const state = new DiscoveryState(new MemoryKv(), clock, (e) => mirror.record(e));

  // Every visor registers its entry and a transport to the next visor.
  let entries = 0;
  let transports = 0;
  const nowNs = (): bigint => BigInt(clock.now()) * 1_000_000n;
  for (let i = 0; i < visors.length; i++) {
    const who = identities[i] as OverlayIdentity;
    const entry: DiscEntry = signEntry(
      {
        version: '0.0.1',
        sequence: 1n,
        timestamp: nowNs(),
        static: who.publicKey,
        client: { delegatedServers: [] },
        clientType: 'visor',
        protocol: '',
      },
      who,
    );
    if ((await state.postEntry(entry)).ok) entries++;
    const peer = identities[(i + 1) % visors.length] as OverlayIdentity;
    const t = signTransport(
      {
        entry: newTransportEntry(who.publicKey, peer.publicKey, 'dmsg'),
        signatures: [undefined, undefined],
        registered: 0n,
      },
      who,
    );
    transports += (await state.registerTransports([t])).length;
    if ((i + 1) % 100 === 0) {
      await clock.run(mirror.flush());
      options.onProgress?.('register', i + 1, visors.length);
    }
  }
  await clock.run(mirror.flush());
  await mirror.close();

  // The server stops: its node leaves the network. Readers use the overlay and the full nodes.
  await serverNode.close();
  await clock.advance(60_000);
  const fullBootstrap = fullNodes.map((n) => ({ publicKey: n.publicKey, address: n.address }));
  const read = async (
    kind: 'entry' | 'tp',
  ): Promise<{ ok: number; total: number; p50Ms: number; p95Ms: number }> => {
    const times: number[] = [];
    let ok = 0;
    for (let r = 0; r < options.reads; r++) {
      const reader = new DhtDiscovery({
        node: visors[random.int(visors.length)] as OverlayNode,
        fullNodes: fullBootstrap,
        clock,
      });
      const subject = identities[random.int(visors.length)] as OverlayIdentity;
      const t0 = clock.now();
      const found =
        kind === 'entry'
          ? (await clock.run(reader.entry(subject.publicKey))) !== undefined
          : (await clock.run(reader.transportsByEdge(subject.publicKey))).length >= 2;
      times.push(clock.now() - t0);
      reader.close();
      if (found) ok++;
      options.onProgress?.(kind === 'entry' ? 'read entries' : 'read transports', r + 1, options.reads);
    }
    times.sort((a, b) => a - b);
    const q = (p: number): number =>
      times[Math.min(times.length - 1, Math.max(0, Math.ceil(p * times.length) - 1))] ?? 0;
    return { ok, total: options.reads, p50Ms: q(0.5), p95Ms: q(0.95) };
  };
  const entryReads = await read('entry');
  const transportReads = await read('tp');
  const report: DiscoverySimReport = {
    options: {
      visors: options.visors,
      fullNodes: options.fullNodes,
      reads: options.reads,
      seed: options.seed,
    },
    registered: { entries, transports },
    mirror: mirror.stats(),
    entryReads,
    transportReads,
    wallMs: 0,
  };
  await Promise.all(nodes.map((n) => n.close()));
  report.wallMs = Math.round(performance.now() - started);
  return report;
}
