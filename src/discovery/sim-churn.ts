/**
 * The discovery simulator's re-announce phase: every visor publishes its own entry and transport
 * list through DhtDiscovery (first put at a random moment of the first re-announce period, so the
 * 30-minute re-announces are spread the way a running network has them), then visors churn for
 * `hours` virtual hours: each session ends on the churn schedule (src/sim/churn.ts) and the visor
 * restarts at once with the same key on a new address (so every contact others held for it is
 * dead and every item it held for others is lost), joins through a random online visor and
 * publishes again with a fresh node (no saved seq: the restarted-publisher case).
 *
 * Every `sampleMs` (about an hour) random online visors resolve random online visors' entries and
 * transport lists, first by lookup alone, then (on a miss) from the full nodes as DhtDiscovery
 * does; the sample says which step answered.
 */
import { OverlayNode, type OverlayBootstrap } from '../node/overlay-node.js';
import { type DiscEntry, signEntry } from '../protocols/discovery/entry.js';
import type { SignedTransport } from '../protocols/discovery/transport-entry.js';
import type { OverlayIdentity } from '../protocols/overlay/identity.js';
import { OverlayStore } from '../protocols/overlay/store.js';
import { churnSchedule } from '../sim/churn.js';
import type { SimulatedOverlayNet } from '../sim/overlay-world.js';
import type { VirtualClock } from '../sim/virtual-clock.js';
import { MemoryItemBackend } from '../storage/item-store.js';
import type { Random } from '../util/random.js';
import { DhtDiscovery, REANNOUNCE_MS } from './adapter.js';

/**
 * Reads run this many at a time (readers are independent visors). Sequential reads would cost
 * wall time for nothing: every virtual second a read waits, every node's upkeep runs.
 */
export const READ_BATCH = 20;
/** Setup entries carry sequence 1; every publish of the churn phase raises it. */
const FIRST_CHURN_SEQ = 2n;
/** A restarted visor joins within this much virtual time or is counted as failed. */
const JOIN_MAX_MS = 5 * 60_000;

export interface ChurnPhaseInput {
  clock: VirtualClock;
  random: Random;
  world: SimulatedOverlayNet;
  identities: readonly OverlayIdentity[];
  /** Slot -> the visor's node now (replaced on restart). */
  visors: OverlayNode[];
  /** Slot -> every transport with that visor as an edge. */
  transports: readonly SignedTransport[][];
  /** Slot -> the entry it last published (its sequence goes up on every restart). */
  entries: DiscEntry[];
  fullNodes: readonly OverlayBootstrap[];
  trusted: Set<string>;
  /** The next free address number for world.place. */
  nextAddress: number;
  hours: number;
  /** Fraction of the visors whose session ends per 10 minutes. */
  churn: number;
  /** Entry reads and transport reads per sample. */
  readsPerSample: number;
  sampleMs: number;
  onProgress?: (phase: string, done: number, total: number) => void;
  /** Asked after each sample: true ends the phase there. */
  stop?: () => boolean;
}

export interface ReadTally {
  ok: number;
  /** Answered by the lookup alone, without asking a full node. */
  byLookup: number;
  total: number;
}

export interface ChurnSample {
  atHours: number;
  online: number;
  entries: ReadTally;
  transports: ReadTally;
}

export interface ChurnPhaseReport {
  hours: number;
  /** Virtual hours that ran (fewer than `hours` when `stop` ended the phase early). */
  hoursRun: number;
  churn: number;
  restarts: number;
  failedJoins: number;
  /** Puts by the visors' DhtDiscovery (first publishes and restarts; re-announces not counted). */
  publishes: number;
  /** Reads not counted: the reader itself restarted while reading. */
  skipped: number;
  /**
   * The visors' own upkeep during the phase, so a reader can see it ran: puts (first publishes,
   * restarts' publishes and the 30-minute re-announces), maintenance ticks of visors still on the
   * node built at setup (never restarted), and bucket-refresh lookups by all visors (a busy
   * network touches its buckets with traffic, so refreshes are few).
   */
  upkeep: { puts: number; setupTicks: number; refreshes: number; expired: number };
  samples: ChurnSample[];
  /** The sample with the lowest fraction of successful reads (entries and transports together). */
  worst: ChurnSample | undefined;
  /** Entry reads that returned the subject's current entry (see `current` in the read loop). */
  currentEntries: number;
  entryReads: ReadTally & { p50Ms: number; p95Ms: number };
  transportReads: ReadTally & { p50Ms: number; p95Ms: number };
}

export async function runChurnPhase(input: ChurnPhaseInput): Promise<ChurnPhaseReport> {
  const { clock, random, world, identities, visors, fullNodes } = input;
  const slots = visors.length;
  const discs: (DhtDiscovery | undefined)[] = new Array<DhtDiscovery | undefined>(slots);
  const online = new Array<boolean>(slots).fill(true);
  let nextAddress = input.nextAddress;
  let restarts = 0;
  let failedJoins = 0;
  let publishes = 0;
  let skipped = 0;
  const upkeep = { puts: 0, setupTicks: 0, refreshes: 0, expired: 0 };
  const watch = (node: OverlayNode, setup: boolean): void => {
    node.events.on('overlay:put', () => upkeep.puts++);
    node.events.on('overlay:upkeep', (e) => {
      if (setup) upkeep.setupTicks++;
      upkeep.refreshes += e.refreshed;
      upkeep.expired += e.expired;
    });
  };
  for (const node of visors) watch(node, true);

  const publish = async (slot: number): Promise<void> => {
    const node = visors[slot] as OverlayNode;
    const disc = new DhtDiscovery({ node, fullNodes: [...fullNodes], clock });
    discs[slot] = disc;
    const who = identities[slot] as OverlayIdentity;
    const last = input.entries[slot] as DiscEntry;
    const entry = signEntry(
      { ...last, sequence: last.sequence + 1n, timestamp: BigInt(Math.floor(clock.now())) * 1_000_000n },
      who,
    );
    input.entries[slot] = entry;
    await disc.postEntry(entry).then(
      () => publishes++,
      () => undefined,
    );
    await disc.publishTransports(input.transports[slot] ?? []).then(
      () => publishes++,
      () => undefined,
    );
  };

  // First publishes spread over one re-announce period.
  const firstDone: Promise<void>[] = [];
  for (let slot = 0; slot < slots; slot++) {
    firstDone.push(
      new Promise((resolve) => {
        clock.setTimeout(() => void publish(slot).finally(resolve), random.int(REANNOUNCE_MS));
      }),
    );
  }

  const restart = async (slot: number): Promise<void> => {
    online[slot] = false;
    discs[slot]?.close();
    discs[slot] = undefined;
    await (visors[slot] as OverlayNode).close();
    const identity = identities[slot] as OverlayIdentity;
    const others = visors.filter((_, i) => online[i]);
    const via = others[random.int(others.length)] as OverlayNode;
    const node = new OverlayNode({
      peerJsonCacheMinPerSec: 0,
      identity,
      transport: world.net.listen(identity.publicKey, world.place(nextAddress++), { reachable: true }),
      clock,
      random,
      bootstrap: [{ publicKey: via.publicKey, address: via.address }],
      store: new OverlayStore(new MemoryItemBackend(), { fullNode: false, trusted: input.trusted }),
    });
    visors[slot] = node;
    watch(node, false);
    restarts++;
    const joined = await node.start({ timeoutMs: JOIN_MAX_MS }).catch(() => undefined);
    if (!joined?.ok) failedJoins++;
    online[slot] = true;
    await publish(slot);
  };

  const durationMs = input.hours * 3_600_000;
  const schedule = churnSchedule(random, slots, durationMs, { fraction: input.churn }).filter(
    (e) => e.kind === 'leave',
  );
  const start = clock.now();
  for (const event of schedule) {
    clock.setTimeout(() => void restart(event.slot), Math.round(event.at));
  }

  const entryMs: number[] = [];
  const tpMs: number[] = [];
  const total = { entries: tally(), transports: tally(), currentEntries: 0 };
  const samples: ChurnSample[] = [];
  const sampleCount = Math.max(1, Math.floor(durationMs / input.sampleMs));
  for (let s = 1; s <= sampleCount; s++) {
    await clock.advance(start + s * input.sampleMs - clock.now());
    if (s === 1) await clock.run(Promise.all(firstDone));
    const sample: ChurnSample = {
      atHours: Math.round(((clock.now() - start) / 3_600_000) * 100) / 100,
      online: online.filter(Boolean).length,
      entries: tally(),
      transports: tally(),
    };
    for (let r = 0; r < input.readsPerSample; r += READ_BATCH) {
      const batch = Array.from({ length: Math.min(READ_BATCH, input.readsPerSample - r) }, async () => {
        const reader = pickOnline(online, random);
        const subject = pickOnline(online, random);
        const readerNode = visors[reader] as OverlayNode;
        const pk = (identities[subject] as OverlayIdentity).publicKey;
        // Current: the entry the subject published last, or the one before while a restart's
        // publish is in flight (not the setup-time copy the server mirrored, which trusted-tier
        // storage keeps forever).
        let current = false;
        const e = await timedRead(clock, readerNode, fullNodes, (d) =>
          d.entry(pk).then((x) => {
            const last = (input.entries[subject] as DiscEntry).sequence;
            if (x) current ||= x.sequence >= last - 1n && x.sequence >= FIRST_CHURN_SEQ;
            return x !== undefined;
          }),
        );
        const t = await timedRead(clock, readerNode, fullNodes, (d) =>
          d.transportsByEdge(pk).then((l) => l.length >= 2),
        );
        // A reader that restarted mid-read says nothing about the network.
        if (visors[reader] !== readerNode) {
          skipped++;
          return;
        }
        count(sample.entries, e);
        count(total.entries, e);
        if (current) total.currentEntries++;
        count(sample.transports, t);
        count(total.transports, t);
        entryMs.push(e.ms);
        tpMs.push(t.ms);
      });
      await clock.run(Promise.all(batch));
    }
    samples.push(sample);
    input.onProgress?.(
      `churn hours (this hour: ${sample.online} online, entries ${sample.entries.ok}/${sample.entries.total}, ` +
        `transports ${sample.transports.ok}/${sample.transports.total}; so far ${restarts} restarts, ` +
        `entries ${total.entries.ok}/${total.entries.total} p50/p95 ${fmtQ(entryMs)} ms, ` +
        `transports ${total.transports.ok}/${total.transports.total} p50/p95 ${fmtQ(tpMs)} ms, ` +
        `upkeep ${upkeep.puts} puts, ${upkeep.refreshes} refreshes)`,
      s,
      sampleCount,
    );
    if (s < sampleCount && input.stop?.()) break;
  }
  for (const d of discs) d?.close();
  const rate = (x: ChurnSample): number =>
    (x.entries.ok + x.transports.ok) / Math.max(1, x.entries.total + x.transports.total);
  const worst = samples.reduce<ChurnSample | undefined>(
    (w, x) => (!w || rate(x) < rate(w) ? x : w),
    undefined,
  );
  return {
    hours: input.hours,
    hoursRun: Math.round(((clock.now() - start) / 3_600_000) * 100) / 100,
    churn: input.churn,
    restarts,
    failedJoins,
    publishes,
    skipped,
    upkeep,
    samples,
    worst,
    currentEntries: total.currentEntries,
    entryReads: { ...total.entries, ...quantiles(entryMs) },
    transportReads: { ...total.transports, ...quantiles(tpMs) },
  };
}

function fmtQ(times: number[]): string {
  const q = quantiles(times);
  return `${q.p50Ms}/${q.p95Ms}`;
}

function tally(): ReadTally {
  return { ok: 0, byLookup: 0, total: 0 };
}

function count(t: ReadTally, r: { ok: boolean; byLookup: boolean }): void {
  t.total++;
  if (r.ok) t.ok++;
  if (r.byLookup) t.byLookup++;
}

function pickOnline(online: readonly boolean[], random: Random): number {
  for (;;) {
    const i = random.int(online.length);
    if (online[i]) return i;
  }
}

/** A lookup-only read, then (on a miss) the full nodes: DhtDiscovery's order, with who answered. */
async function timedRead(
  clock: VirtualClock,
  node: OverlayNode,
  fullNodes: readonly OverlayBootstrap[],
  read: (d: DhtDiscovery) => Promise<boolean>,
): Promise<{ ok: boolean; byLookup: boolean; ms: number }> {
  const t0 = clock.now();
  const lookupOnly = new DhtDiscovery({ node, clock });
  const byLookup = await read(lookupOnly).catch(() => false);
  lookupOnly.close();
  let ok = byLookup;
  if (!ok) {
    const withFull = new DhtDiscovery({ node, fullNodes: [...fullNodes], fullNodesOnly: true, clock });
    ok = await read(withFull).catch(() => false);
    withFull.close();
  }
  return { ok, byLookup, ms: clock.now() - t0 };
}

/** `count` independent reads, READ_BATCH at a time, on virtual time. */
export async function readInBatches(
  clock: VirtualClock,
  count: number,
  read: () => Promise<void>,
  progress?: (done: number) => void,
): Promise<void> {
  for (let r = 0; r < count; r += READ_BATCH) {
    const n = Math.min(READ_BATCH, count - r);
    await clock.run(Promise.all(Array.from({ length: n }, () => read())));
    progress?.(r + n);
  }
}

export function quantiles(times: number[]): { p50Ms: number; p95Ms: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  return { p50Ms: Math.round(q(0.5)), p95Ms: Math.round(q(0.95)) };
}
