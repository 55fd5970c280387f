/**
 * BEP 42: learning our external IP from the `ip` field of replies. One node cannot be trusted, so
 * each responder IP gets one vote (its latest report), and an address wins only with a clear
 * majority of at least MIN_VOTES distinct responders. Responders on local addresses (a LAN, a
 * loopback testnet) share IPs by nature, so there each address:port votes.
 */
import type { NodeId } from '../kademlia/id.js';
import {
  isExemptAddress,
  isSecureId,
  type SecureIdMode,
  secureNodeId,
} from '../protocols/mainline/secure-id.js';
import { type Address, addressKey, type Family, isLocalAddress } from '../transport/address.js';
import type { Random } from '../util/random.js';

/** Distinct responders that must agree before we believe an address. */
export const MIN_IP_VOTES = 3;
/** Most responders remembered per family (oldest forgotten first). */
export const MAX_IP_VOTERS = 64;

export class ExternalIpVoter {
  /** Per family: responder host -> the host it says we have. Map order = report age. */
  private readonly votes: Record<Family, Map<string, string>> = { 4: new Map(), 6: new Map() };
  private readonly current: Record<Family, string | undefined> = { 4: undefined, 6: undefined };

  constructor(private readonly minVotes = MIN_IP_VOTES) {}

  /** The address the network agrees we have, per family. */
  get(family: Family): string | undefined {
    return this.current[family];
  }

  /**
   * Record that `reporter` saw us as `seen`. Returns the new consensus host when this report
   * changed it, otherwise undefined.
   */
  report(reporter: Address, seen: Address): string | undefined {
    if (seen.family !== reporter.family) return undefined;
    const votes = this.votes[seen.family];
    const voter = isLocalAddress(reporter.host) ? addressKey(reporter) : reporter.host;
    votes.delete(voter);
    votes.set(voter, seen.host);
    if (votes.size > MAX_IP_VOTERS) votes.delete(votes.keys().next().value as string);
    const tally = new Map<string, number>();
    for (const host of votes.values()) tally.set(host, (tally.get(host) ?? 0) + 1);
    let best: string | undefined;
    let bestVotes = 0;
    for (const [host, n] of tally)
      if (n > bestVotes) {
        best = host;
        bestVotes = n;
      }
    if (!best || bestVotes < this.minVotes || bestVotes * 2 <= votes.size) return undefined;
    if (best === this.current[seen.family]) return undefined;
    this.current[seen.family] = best;
    return best;
  }
}

/**
 * BEP 42: the id to switch to now that the network agrees `agreed` is our address, or undefined
 * to keep ours (checks off, an id the caller chose, a local address, or already valid).
 */
export function rederivedId(
  current: NodeId,
  agreed: string,
  opts: { mode: SecureIdMode; pinned: boolean; random: Random },
): NodeId | undefined {
  if (opts.mode === 'off' || opts.pinned) return undefined;
  if (isExemptAddress(agreed) || isSecureId(current, agreed)) return undefined;
  return secureNodeId(agreed, opts.random);
}
