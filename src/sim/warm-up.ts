/**
 * Warm-up after a fast build. Fast-built tables hold contacts nobody ever talked to: no RTT
 * samples, so proximity neighbour selection has nothing to choose by and adaptive timeouts fall
 * back to their defaults. A join-built network gets its samples from ~14 lookups per node
 * (bootstrap, post-join refresh, the 15-minute refresh while it ages), which costs too much at
 * 100,000 nodes. Here every node instead runs `refreshes` ordinary bucket refreshes (a find_node
 * of a random id in the bucket, farthest bucket first, exactly what maintenance sends), started
 * at random times over `windowMs`: the replies give RTTs, the queried nodes ping their new
 * queriers back, and the tables then take faster contacts the way they would in a live network.
 */
import { randomIdWithPrefix } from '../kademlia/id.js';
import type { Random } from '../util/random.js';
import type { VirtualClock } from './virtual-clock.js';
import type { SimNode } from './world.js';

/**
 * Default virtual time the warm-up refreshes are spread over, ms. Four minutes, so that a
 * 10-minute phase after it ends before minute 15, when every bucket the fast build seeded at
 * time 0 falls due for its first refresh at once: that round would double a 100,000-node run's
 * datagrams and is not in the join build's measured phase either (its buckets refresh during
 * the ageing, and next after the phase).
 */
export const WARM_UP_WINDOW_MS = 4 * 60_000;
/** Most refreshes per node a warm-up may ask for (each is one find_node lookup). */
export const MAX_WARM_UP_REFRESHES = 16;
/** After the window, how long the last lookups may take before the warm-up gives up waiting, ms. */
const WARM_UP_GRACE_MS = 2 * 60_000;

export interface WarmUpResult {
  lookups: number;
  datagrams: number;
  virtualMs: number;
}

/**
 * Run the warm-up on `nodes` and wait (bounded) for its lookups. `sent` reads the network's
 * datagram counter, so the cost is reported.
 */
export async function warmUp(
  nodes: readonly SimNode[],
  clock: VirtualClock,
  random: Random,
  refreshes: number,
  sent: () => number,
  windowMs = WARM_UP_WINDOW_MS,
  onProgress?: (done: number, total: number) => void,
): Promise<WarmUpResult> {
  if (!Number.isInteger(refreshes) || refreshes < 0 || refreshes > MAX_WARM_UP_REFRESHES)
    throw new RangeError(`warm-up refreshes must be an integer 0-${MAX_WARM_UP_REFRESHES}, got ${refreshes}`);
  const started = clock.now();
  const sentBefore = sent();
  const total = nodes.length * refreshes;
  let done = 0;
  for (const node of nodes) {
    if (refreshes === 0) break;
    const at = random.int(Math.max(1, windowMs));
    clock.setTimeout(() => {
      void (async () => {
        // One after another, as maintenance does (it runs at most two at once).
        for (let index = 0; index < refreshes; index++) {
          if (node.alive) {
            const target = randomIdWithPrefix(random, node.dht.id, index);
            await node.dht.findNode(target).catch(() => undefined);
          }
          done++;
        }
      })();
    }, at);
  }
  await clock.runUntil(
    () => {
      onProgress?.(done, total);
      return done === total;
    },
    windowMs + WARM_UP_GRACE_MS,
    1000,
  );
  return { lookups: done, datagrams: sent() - sentBefore, virtualMs: clock.now() - started };
}
