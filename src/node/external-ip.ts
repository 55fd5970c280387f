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
import { type Address, type Family, isLocalAddress } from '../transport/address.js';
import type { Random } from '../util/random.js';

/** Distinct responders that must agree before we believe an address. */
export const MIN_IP_VOTES = 3;
/** Most responders remembered per family (oldest forgotten first). */
export const MAX_IP_VOTERS = 64;

/**
 * One family's votes, oldest first. Every node keeps one of these, so it is two small arrays: a
 * number per voter (a hash of its IP, or of its IP and port on local addresses) and the host it
 * reported, shared with any earlier vote for the same host (there are rarely more than two).
 */
class Ballot {
  readonly voters: number[] = [];
  readonly seen: string[] = [];
  agreed: string | undefined;
}

export class ExternalIpVoter {
  private readonly v4 = new Ballot();
  private readonly v6 = new Ballot();

  constructor(private readonly minVotes = MIN_IP_VOTES) {}

  /** The address the network agrees we have, per family. */
  get(family: Family): string | undefined {
    return this.ballot(family).agreed;
  }

  /**
   * Record that `reporter` saw us as `seen`. Returns the new consensus host when this report
   * changed it, otherwise undefined.
   */
  report(reporter: Address, seen: Address): string | undefined {
    if (seen.family !== reporter.family) return undefined;
    const ballot = this.ballot(seen.family);
    const { voters, seen: hosts } = ballot;
    const voter = voterKey(reporter);
    const earlier = voters.indexOf(voter);
    if (earlier >= 0) {
      voters.splice(earlier, 1);
      hosts.splice(earlier, 1);
    }
    voters.push(voter);
    hosts.push(hosts.find((h) => h === seen.host) ?? seen.host);
    if (voters.length > MAX_IP_VOTERS) {
      voters.shift();
      hosts.shift();
    }
    const tally = new Map<string, number>();
    for (const host of hosts) tally.set(host, (tally.get(host) ?? 0) + 1);
    let best: string | undefined;
    let bestVotes = 0;
    for (const [host, n] of tally)
      if (n > bestVotes) {
        best = host;
        bestVotes = n;
      }
    if (!best || bestVotes < this.minVotes || bestVotes * 2 <= voters.length) return undefined;
    if (best === ballot.agreed) return undefined;
    ballot.agreed = best;
    return best;
  }

  private ballot(family: Family): Ballot {
    return family === 4 ? this.v4 : this.v6;
  }
}

/**
 * One vote per responder IP; on local addresses (a LAN, a loopback testnet) IPs are shared by
 * nature, so there each address:port votes. A 30-bit FNV-1a hash, small enough to stay an
 * unboxed integer; two voters that collide merely share one vote.
 */
function voterKey(reporter: Address): number {
  let h = 0x811c9dc5;
  const host = reporter.host;
  for (let i = 0; i < host.length; i++) h = Math.imul(h ^ host.charCodeAt(i), 0x01000193);
  if (isLocalAddress(host)) h = Math.imul(h ^ reporter.port, 0x01000193);
  return h & 0x3fffffff;
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
