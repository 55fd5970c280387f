/**
 * Discovery on the simulated overlay: V visors (unmodified OverlayNodes on virtual time over the
 * in-memory stream network), F full nodes and one discovery server (its rules, its mirror and its
 * own full node; the HTTP layer is a stand-in, sim-http.ts). Phases:
 * 1. every visor registers its dmsg entry and one transport with the server; the mirror pushes
 *    them into the overlay;
 * 2. steady state, server up: random visors read through the hybrid client (DHT first, HTTP on a
 *    miss), counting what fell back to HTTP and why;
 * 3. the server stops: random visors resolve entries and transports-by-edge from the DHT alone;
 * 4. (hours > 0) visors publish themselves, re-announce every 30 minutes and churn (sim-churn.ts).
 *
 * Tables are seeded from the sorted id list (the simulator's fast build); all nodes are reachable.
 */
import { asNodeId } from '../kademlia/id.js';
import { OverlayNode } from '../node/overlay-node.js';
import { type DiscEntry, signEntry } from '../protocols/discovery/entry.js';
import { newTransportEntry, signTransport } from '../protocols/discovery/transport-entry.js';
import {
  OverlayIdentity,
  SIGNATURE_CACHE_SIZE,
  setSignatureCacheSize,
} from '../protocols/overlay/identity.js';
import { OverlayStore } from '../protocols/overlay/store.js';
import { seedTables } from '../sim/fast-build.js';
import { SimulatedOverlayNet, spreadRefreshPhases } from '../sim/overlay-world.js';
import { VirtualClock } from '../sim/virtual-clock.js';
import { MemoryItemBackend } from '../storage/item-store.js';
import { toHex } from '../util/bytes.js';
import { SeededRandom } from '../util/random.js';
import type { SignedTransport } from '../protocols/discovery/transport-entry.js';
import { DhtDiscovery } from './adapter.js';
import { type HybridStats, HybridDiscovery } from './hybrid.js';
import { MemoryKv } from './kv.js';
import { Mirror } from './mirror.js';
import { type ChurnPhaseReport, quantiles, readInBatches, runChurnPhase } from './sim-churn.js';
import { SimulatedHttpSide } from './sim-http.js';
import { DiscoveryState } from './state.js';

export interface DiscoverySimOptions {
  visors: number;
  fullNodes: number;
  /** Entry reads and transport reads after the server stops. */
  reads: number;
  /** Entry reads and transport reads through the hybrid client while the server is up. */
  steadyReads: number;
  /** Virtual hours of re-announce under churn after the server stops (0: none). */
  hours: number;
  /** Fraction of the visors restarting per 10 minutes in that phase. */
  churn: number;
  /** Entry reads and transport reads per virtual hour in that phase. */
  hourlyReads: number;
  seed: number;
  onProgress?: (phase: string, done: number, total: number) => void;
  /** Asked after each virtual hour of churn: true ends the phase there (a wall-time budget). */
  stop?: () => boolean;
}

export interface DiscoverySimReport {
  options: Omit<DiscoverySimOptions, 'onProgress' | 'stop'>;
  registered: { entries: number; transports: number };
  mirror: ReturnType<Mirror['stats']>;
  /** Server up: reads through the hybrid client, and what fell back to HTTP (stats() summed). */
  steady: {
    entryReads: { ok: number; total: number; p50Ms: number; p95Ms: number };
    transportReads: { ok: number; total: number; p50Ms: number; p95Ms: number };
    served: HybridStats['served'];
    fallbacks: HybridStats['fallbacks'];
    notFound: number;
    /** Reads that ended on HTTP or nowhere, over all reads. */
    fallbackFraction: number;
  };
  entryReads: { ok: number; total: number; p50Ms: number; p95Ms: number };
  transportReads: { ok: number; total: number; p50Ms: number; p95Ms: number };
  churn: ChurnPhaseReport | undefined;
  wallMs: number;
}

/**
 * Signatures cached per visor while a simulation runs: each visor's entry and list, their items'
 * versions within a 2-hour lifetime, and the mirror's copies, with room to spare.
 */
const SIGNATURES_PER_VISOR = 32;

export async function simulateDiscovery(
  input: Partial<DiscoverySimOptions> & { visors: number },
): Promise<DiscoverySimReport> {
  // Every node of the simulation shares this process, so a signature checked by one node need not
  // be recovered again by the next one: the check's answer depends only on the bytes checked.
  setSignatureCacheSize(Math.max(SIGNATURE_CACHE_SIZE, input.visors * SIGNATURES_PER_VISOR));
  try {
    return await runSimulation(input);
  } finally {
    setSignatureCacheSize(SIGNATURE_CACHE_SIZE);
  }
}

async function runSimulation(
  input: Partial<DiscoverySimOptions> & { visors: number },
): Promise<DiscoverySimReport> {
  const options: DiscoverySimOptions = {
    fullNodes: 3,
    reads: 300,
    steadyReads: 300,
    hours: 0,
    churn: 0.1,
    hourlyReads: 100,
    seed: 1,
    ...input,
  };
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
        peerJsonCacheMinPerSec: 0,
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
  // Their upkeep (bucket refresh, expiry; a full node's adverts and reconciliation) runs as on a
  // started node: with no bootstrap, start() only arms those timers (the tables are seeded).
  for (const node of nodes) await node.start();
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
  const slotEntries: DiscEntry[] = [];
  const slotTransports: SignedTransport[] = [];
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
    slotEntries.push(entry);
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
    slotTransports.push(t);
    transports += (await state.registerTransports([t])).length;
    if ((i + 1) % 100 === 0) {
      await clock.run(mirror.flush());
      options.onProgress?.('register', i + 1, visors.length);
    }
  }
  await clock.run(mirror.flush());
  const fullBootstrap = fullNodes.map((n) => ({ publicKey: n.publicKey, address: n.address }));

  // Steady state, server up: each read is a fresh hybrid client on a random visor.
  const http = new SimulatedHttpSide(state, clock);
  const steadyTimes = { entry: [] as number[], tp: [] as number[] };
  const steadyOk = { entry: 0, tp: 0 };
  const sum: Pick<HybridStats, 'served' | 'fallbacks' | 'notFound'> = {
    served: { dht: 0, http: 0 },
    fallbacks: { miss: 0, error: 0, 'breaker-open': 0, unpopulated: 0, 'no-side': 0 },
    notFound: 0,
  };
  await readInBatches(
    clock,
    options.steadyReads,
    async () => {
      const dht = new DhtDiscovery({
        node: visors[random.int(visors.length)] as OverlayNode,
        fullNodes: fullBootstrap,
        clock,
      });
      const hybrid = new HybridDiscovery({ dht, http, clock });
      const subject = (identities[random.int(visors.length)] as OverlayIdentity).publicKey;
      let t0 = clock.now();
      if ((await hybrid.entry(subject)) !== undefined) steadyOk.entry++;
      steadyTimes.entry.push(clock.now() - t0);
      t0 = clock.now();
      if ((await hybrid.transportsByEdge(subject)).length >= 2) steadyOk.tp++;
      steadyTimes.tp.push(clock.now() - t0);
      dht.close();
      const st = hybrid.stats();
      for (const side of ['dht', 'http'] as const) sum.served[side] += st.served[side];
      for (const k of Object.keys(sum.fallbacks) as (keyof HybridStats['fallbacks'])[])
        sum.fallbacks[k] += st.fallbacks[k];
      sum.notFound += st.notFound;
    },
    (done) => options.onProgress?.('steady reads', done, options.steadyReads),
  );
  const steadyTotal = 2 * options.steadyReads;
  const steady: DiscoverySimReport['steady'] = {
    entryReads: { ok: steadyOk.entry, total: options.steadyReads, ...quantiles(steadyTimes.entry) },
    transportReads: { ok: steadyOk.tp, total: options.steadyReads, ...quantiles(steadyTimes.tp) },
    ...sum,
    fallbackFraction: steadyTotal === 0 ? 0 : (steadyTotal - sum.served.dht) / steadyTotal,
  };
  await mirror.close();

  // The server stops: its node leaves the network. Readers use the overlay and the full nodes.
  http.up = false;
  await serverNode.close();
  await clock.advance(60_000);
  const read = async (
    kind: 'entry' | 'tp',
  ): Promise<{ ok: number; total: number; p50Ms: number; p95Ms: number }> => {
    const times: number[] = [];
    let ok = 0;
    await readInBatches(
      clock,
      options.reads,
      async () => {
        const reader = new DhtDiscovery({
          node: visors[random.int(visors.length)] as OverlayNode,
          fullNodes: fullBootstrap,
          clock,
        });
        const subject = identities[random.int(visors.length)] as OverlayIdentity;
        const t0 = clock.now();
        const found =
          kind === 'entry'
            ? (await reader.entry(subject.publicKey)) !== undefined
            : (await reader.transportsByEdge(subject.publicKey)).length >= 2;
        times.push(clock.now() - t0);
        reader.close();
        if (found) ok++;
      },
      (done) =>
        options.onProgress?.(kind === 'entry' ? 'read entries' : 'read transports', done, options.reads),
    );
    return { ok, total: options.reads, ...quantiles(times) };
  };
  const entryReads = await read('entry');
  const transportReads = await read('tp');

  const churn =
    options.hours > 0
      ? await runChurnPhase({
          clock,
          random,
          world,
          identities,
          visors,
          transports: visors.map((_, i) => [
            slotTransports[i] as SignedTransport,
            slotTransports[(i - 1 + visors.length) % visors.length] as SignedTransport,
          ]),
          entries: slotEntries,
          fullNodes: fullBootstrap,
          trusted,
          nextAddress: total,
          hours: options.hours,
          churn: options.churn,
          readsPerSample: options.hourlyReads,
          sampleMs: 3_600_000,
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          ...(options.stop ? { stop: options.stop } : {}),
        })
      : undefined;
  const report: DiscoverySimReport = {
    options: {
      visors: options.visors,
      fullNodes: options.fullNodes,
      reads: options.reads,
      steadyReads: options.steadyReads,
      hours: options.hours,
      churn: options.churn,
      hourlyReads: options.hourlyReads,
      seed: options.seed,
    },
    registered: { entries, transports },
    mirror: mirror.stats(),
    steady,
    entryReads,
    transportReads,
    churn,
    wallMs: 0,
  };
  await Promise.all(nodes.map((n) => n.close()));
  report.wallMs = Math.round(performance.now() - started);
  return report;
}
