/**
 * Replay protection for announce tokens: a token is good for at most PORTS_PER_TOKEN ports of one
 * infohash. The token already binds the IP and the infohash (tokens.ts); what it did not bind is
 * the port, so one get_peers reply let its holder announce the same infohash on any number of
 * ports, the cheap way to fill a swarm with fake peers (index poisoning). Re-announcing a port
 * already used stays accepted: that is a client repeating itself, not a replay. More than one
 * port is allowed because tokens are per IP: several clients behind one NAT address share one.
 *
 * Why this scheme and not a nonce per token: a nonce needs state at issue time for every
 * get_peers reply (most are never followed by an announce), this needs state only for the
 * announces that succeed, and it needs no change on the wire (clients keep working).
 *
 * Bounded: REPLAY_MAX_ENTRIES pairs, oldest first out; an entry lives as long as a token can
 * (two rotation periods), after which the token itself is refused anyway.
 */
import { bytesToBinaryString } from '../../util/bytes.js';
import type { Clock } from '../../util/clock.js';
import { TOKEN_ROTATE_MS } from './tokens.js';

/** Tokens remembered at once; past it the oldest is forgotten (which only forgives). */
export const REPLAY_MAX_ENTRIES = 50_000;
/** Ports one token may announce for one infohash: a few clients behind one NAT address. */
export const PORTS_PER_TOKEN = 4;

export class TokenReplayGuard {
  /** token ‖ infohash -> the ports it announced, and when first used. Insertion-ordered: oldest first. */
  private readonly used = new Map<string, { ports: number[]; at: number }>();
  /** Announces refused as replays, for statistics. */
  refused = 0;

  constructor(
    private readonly clock: Clock,
    private readonly lifetimeMs = 2 * TOKEN_ROTATE_MS,
    private readonly max = REPLAY_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.used.size;
  }

  /** Record the token's use for (infohash, port); false when it already announced PORTS_PER_TOKEN others. */
  accept(token: Uint8Array, infoHash: Uint8Array, port: number): boolean {
    const now = this.clock.now();
    this.expire(now);
    const key = bytesToBinaryString(token) + bytesToBinaryString(infoHash);
    const seen = this.used.get(key);
    if (seen) {
      if (seen.ports.includes(port)) return true;
      if (seen.ports.length < PORTS_PER_TOKEN) {
        seen.ports.push(port);
        return true;
      }
      this.refused++;
      return false;
    }
    if (this.used.size >= this.max) {
      const oldest = this.used.keys().next().value;
      if (oldest !== undefined) this.used.delete(oldest);
    }
    this.used.set(key, { ports: [port], at: now });
    return true;
  }

  private expire(now: number): void {
    for (const [key, entry] of this.used) {
      if (now - entry.at < this.lifetimeMs) break;
      this.used.delete(key);
    }
  }
}
