/**
 * The rotate scenario: what the daemon's privacy rotation (privacy.rotate_every_s) costs. A
 * fraction of the nodes, read-only ones first (the private profile is read-only and rotating),
 * each take a fresh id and address every N virtual minutes as the daemon does: a successor node
 * joins through the routers and a spread of the old node's contacts, keeping its stores, and only
 * then replaces the old node, which closes. Lookups (announce + get_peers) run meanwhile from
 * random serving nodes; each rejoin's datagrams and time are measured.
 *
 * One difference from the daemon: a simulated node's successor gets a new IP address as well as
 * a new port (the simulated network hands out one address per endpoint), so announces made
 * before a rotation name an address that is gone. The lookups still count them found: what is
 * measured is whether the DHT finds what was stored, not whether the peer is still there.
 */
import { successorTable } from '../node/rotation.js';
import { SeededRandom } from '../util/random.js';
import type { SimContext } from './runner.js';
import { summarize, type Summary } from './stats.js';
import { getPeersWorkload } from './workloads.js';
import type { SimNode } from './world.js';

export const DEFAULT_ROTATE_FRACTION = 0.3;
export const DEFAULT_ROTATE_EVERY_MS = 10 * 60_000;
export const DEFAULT_ROTATE_DURATION_MS = 30 * 60_000;
/** Virtual time left after the lookups for rejoins still running to finish, ms. */
const SETTLE_MS = 5 * 60_000;

export interface RotationStats {
  /** Nodes that rotate (how many of them read-only). */
  rotating: number;
  readOnly: number;
  everyMin: number;
  rotations: number;
  rejoinsOk: number;
  rejoinsFailed: number;
  /** Virtual time from the successor starting to its join finishing, ms. */
  rejoinMs: Summary;
  /**
   * Datagrams the successor sent while joining: the bootstrap round and the lookup of its own id
   * (the answers are about as many again; a refresh of a few far buckets follows, not counted).
   */
  datagramsPerRejoin: Summary;
}

export async function runRotate(ctx: SimContext, defaultBuild: () => 'fast' | 'join'): Promise<void> {
  await ctx.buildNetwork(defaultBuild());
  const { world } = ctx;
  const fraction = ctx.options.rotateFraction ?? DEFAULT_ROTATE_FRACTION;
  const everyMs = ctx.options.rotateEveryMs ?? DEFAULT_ROTATE_EVERY_MS;
  const durationMs = ctx.options.durationMs ?? DEFAULT_ROTATE_DURATION_MS;
  // Its own stream, so the rotation schedule and new ids do not shift the world's other draws.
  const random = new SeededRandom(ctx.options.seed ^ 0x707a7e);
  const candidates = world.live.filter((n) => !ctx.routers.includes(n));
  // Read-only first (a stable sort keeps the order otherwise): they are the private profile.
  candidates.sort((a, b) => Number(b.readOnly) - Number(a.readOnly));
  const slots: SimNode[] = candidates.slice(0, Math.round(fraction * candidates.length));
  const rejoinMs: number[] = [];
  const datagrams: number[] = [];
  const stats = { rotations: 0, rejoinsOk: 0, rejoinsFailed: 0 };
  let running = 0;

  const rotateSlot = async (slot: number): Promise<void> => {
    const old = slots[slot] as SimNode;
    if (!old.alive) return;
    running++;
    stats.rotations++;
    const next = world.addNode({
      bootstrap: ctx.bootstrap,
      nat: old.natType ?? false,
      readOnly: old.readOnly,
      id: random.bytes(20),
      standby: true,
      carry: {
        routingTable: successorTable(old.dht.exportRoutingTable(), undefined, random),
        peerStore: old.dht.peers,
        itemStore: old.dht.items,
      },
    });
    const began = world.clock.now();
    try {
      const joined = await next.dht.start().catch(() => ({ ok: false }));
      rejoinMs.push(world.clock.now() - began);
      datagrams.push(next.endpoint.sent);
      if (joined.ok) {
        stats.rejoinsOk++;
        next.standby = false;
        slots[slot] = next;
        await world.remove(old);
      } else {
        // As the daemon does: the old node keeps serving until the next turn.
        stats.rejoinsFailed++;
        await world.remove(next);
      }
    } finally {
      running--;
    }
  };

  const start = world.clock.now();
  for (let slot = 0; slot < slots.length; slot++) {
    for (let t = random.int(everyMs); t < durationMs; t += everyMs)
      world.clock.setTimeout(
        () =>
          void rotateSlot(slot).catch(() => {
            stats.rejoinsFailed++;
          }),
        start + t - world.clock.now(),
      );
  }
  await ctx.phase('rotating', getPeersWorkload, ctx.lookups, durationMs);
  // Rotations due after the last lookup finished still happen, then the rejoins settle.
  const left = start + durationMs - world.clock.now();
  if (left > 0) await world.clock.advance(left);
  await world.clock.runUntil(() => running === 0, SETTLE_MS, 1000);
  ctx.rotation = {
    rotating: slots.length,
    readOnly: candidates.slice(0, slots.length).filter((n) => n.readOnly).length,
    everyMin: everyMs / 60_000,
    ...stats,
    rejoinMs: summarize(rejoinMs),
    datagramsPerRejoin: summarize(datagrams),
  };
}
