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

/**
 * The feature breaker over BEP 42 voting and what a new consensus sets off (a re-derived id,
 * re-announcing). Off, replies' `ip` fields are ignored: the node keeps the id and external
 * address it has.
 */
export const EXTERNAL_IP_FEATURE = 'external-ip';
/** Distinct responders that must agree before we believe an address. */
export const MIN_IP_VOTES = 3;
/** Most responders remembered per family (the oldest report is overwritten first). */
export const MAX_IP_VOTERS = 32;

/**
 * One family's votes. Every node keeps one of these, so it is two fixed rings, made on the first
 * report: a number per voter (a hash of its IP, or of its IP and port on local addresses) and the
 * host it reported, shared with any other vote for the same host (there are rarely more than two).
 */
class Ballot {
  private voters: number[] | undefined;
  private seen: (string | undefined)[] | undefined;
  /** Where the next new voter goes (it overwrites the oldest). */
  private next = 0;
  agreed: string | undefined;

  /** Record a voter's report (replacing its earlier one); returns the most-reported host and its votes. */
  vote(voter: number, host: string): { best: string | undefined; votes: number; voters: number } {
    this.voters ??= new Array<number>(MAX_IP_VOTERS).fill(-1);
    this.seen ??= new Array<string | undefined>(MAX_IP_VOTERS).fill(undefined);
    let at = this.voters.indexOf(voter);
    if (at < 0) {
      at = this.next;
      this.next = (this.next + 1) % MAX_IP_VOTERS;
    }
    this.voters[at] = voter;
    this.seen[at] = this.seen.find((h) => h === host) ?? host;
    const tally = new Map<string, number>();
    let voters = 0;
    for (const h of this.seen) {
      if (h === undefined) continue;
      voters++;
      tally.set(h, (tally.get(h) ?? 0) + 1);
    }
    let best: string | undefined;
    let votes = 0;
    for (const [h, n] of tally)
      if (n > votes) {
        best = h;
        votes = n;
      }
    return { best, votes, voters };
  }
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
    const { best, votes, voters } = ballot.vote(voterKey(reporter), seen.host);
    if (!best || votes < this.minVotes || votes * 2 <= voters) return undefined;
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
