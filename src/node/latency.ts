/**
 * Latency-aware lookups, technique by technique, so the simulator can measure each alone and
 * together (docs/LATENCY.md). All of them change only what we send when, never a message's
 * contents: other Mainline clients see ordinary queries. Two more were measured and removed
 * (docs/LATENCY.md): asking measured-fast candidates first, and a wider first round.
 *
 * - `adaptive-timeouts`: a query stops holding a lookup slot after the contact's own smoothed
 *   RTT plus deviations (or the network's p90 for strangers), not a fixed SHORT_TIMEOUT_MS.
 * - `pns`: proximity neighbour selection: in a full bucket, a contact that answered much faster
 *   replaces the slowest member (kademlia/routing-table.ts `latencyOf`).
 * - `path-cache`: BEP 44 items cached along the lookup path (protocols/mainline/path-cache.ts):
 *   a getter puts what it found on the closest node outside the K closest that lacked it, and
 *   this node keeps such copies for a TTL falling with its distance from the target.
 * - `wide-buckets`: the four farthest buckets hold 16, 8, 4 and 2 times k contacts (the scheme
 *   libtorrent uses), so the first hop of a lookup starts several bits closer to the target and a
 *   lookup at 100,000 nodes needs about one hop fewer. Answers still carry k contacts.
 * - `deep-buckets`: wider still (DEEP_BUCKETS), so that every hop, not only the first, starts
 *   from more contacts.
 * - `adaptive-refresh`: the bucket refresh interval follows the observed churn
 *   (node/refresh-pacer.ts) instead of BEP 5's fixed 15 minutes.
 * - `predict-failures`: an online model of which contact fails its next query
 *   (kademlia/failure-model.ts) picks whom a full bucket evicts and pings, instead of
 *   least-recently-seen, and puts likely-alive contacts first in what we hand out.
 * - `converged-width`: once the alpha nearest candidates have answered, a lookup asks the rest of
 *   the K closest at once (kademlia/lookup.ts `convergedWidth`, the Kademlia paper's last round).
 */
import { FailureModel } from '../kademlia/failure-model.js';
import { RttTracker } from '../kademlia/rtt.js';
import type { Address } from '../transport/address.js';
import type { Clock } from '../util/clock.js';
import { SHORT_TIMEOUT_MS } from '../rpc/rpc.js';
import { InvalidArgumentError } from '../util/errors.js';

export const LATENCY_TECHNIQUES = [
  'adaptive-timeouts',
  'rtt-order',
  'wide-first',
  'pns',
  'path-cache',
  'adaptive-refresh',
  'converged-width',
  'wide-buckets',
  'deep-buckets',
  'predict-failures',
] as const;
export type LatencyTechnique = (typeof LATENCY_TECHNIQUES)[number];
/**
 * What the simulator showed helps (docs/LATENCY.md); the rest stays available to measure. Wide
 * buckets became a default once an address answering under a new id replaced its old record
 * (kademlia/routing-table.ts), which their buckets with room had needed; deep buckets replaced
 * them once they took hops off at every size measured, at no cost in the 500-node bench's
 * datagrams: faster on fully seeded (long-lived) tables from 10,000 nodes up, the same first-peer
 * median on young tables built by joins (2,000 and 10,000 nodes; docs/LATENCY.md).
 */
export const DEFAULT_LATENCY: readonly LatencyTechnique[] = ['adaptive-timeouts', 'pns', 'deep-buckets'];

/** Multipliers of k for the farthest buckets, farthest first, under `wide-buckets`. */
export const WIDE_BUCKETS: readonly number[] = [16, 8, 4, 2];
/**
 * Under `deep-buckets`: the two farthest 16 k, then 8 k, 4 k, and 2 k down to depth 13. A node
 * answers with the k closest it knows, and with 2 k in the bucket a query lands in, those are
 * about one bit closer: every hop gains a bit, not only our first (at 100,000 nodes, ~14 bits to
 * resolve at ~3 per hop). About 560 contacts per table at 100,000 nodes instead of 320.
 */
export const DEEP_BUCKETS: readonly number[] = [16, 16, 8, 8, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2];

export function checkTechniques(list: readonly string[]): LatencyTechnique[] {
  for (const t of list) {
    if (!(LATENCY_TECHNIQUES as readonly string[]).includes(t))
      throw new InvalidArgumentError(
        `unknown latency technique "${t}"; choose from ${LATENCY_TECHNIQUES.join(', ')}`,
      );
  }
  return list as LatencyTechnique[];
}

/** One node's latency state and the hooks it gives the RPC layer and the lookups. */
export class LatencyRouting {
  readonly rtt: RttTracker;
  /** The failure model, under `predict-failures`: the node feeds it every answer and timeout. */
  readonly failures: FailureModel | undefined;
  private readonly on: ReadonlySet<LatencyTechnique>;

  constructor(techniques: readonly string[] = DEFAULT_LATENCY, shortTimeoutMs = SHORT_TIMEOUT_MS) {
    this.on = new Set(checkTechniques(techniques));
    this.rtt = new RttTracker(shortTimeoutMs);
    this.failures = this.has('predict-failures') ? new FailureModel() : undefined;
  }

  /** For the routing tables: the predicted failure probability of a contact (when on). */
  failureOf(clock: Clock): ((address: Address) => number | undefined) | undefined {
    const model = this.failures;
    return model ? (address) => model.failureOf(address, clock.now()) : undefined;
  }

  has(t: LatencyTechnique): boolean {
    return this.on.has(t);
  }

  /** For `Rpc`: per-destination short timeouts (when on). */
  get shortTimeoutFor(): ((to: Parameters<RttTracker['slowAfterMs']>[0]) => number) | undefined {
    return this.has('adaptive-timeouts') ? (to) => this.rtt.slowAfterMs(to) : undefined;
  }

  /** For the routing tables: bucket widths by index (when on). */
  get wideBuckets(): readonly number[] | undefined {
    if (this.has('deep-buckets')) return DEEP_BUCKETS;
    return this.has('wide-buckets') ? WIDE_BUCKETS : undefined;
  }

  /** For the routing tables: RTTs for proximity neighbour selection (when on). */
  get latencyOf(): ((address: Parameters<RttTracker['srtt']>[0]) => number | undefined) | undefined {
    return this.has('pns') ? (address) => this.rtt.srtt(address) : undefined;
  }
}
