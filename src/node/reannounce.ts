/**
 * Re-announce after our external address changed. Nodes store an announcer's address as they saw
 * it (BEP 5), so once the network agrees we have a new address, every announce made under the
 * old one points peers at an address that is no longer ours. The node remembers what it
 * announced recently (bounded) and announces it again when the address changes.
 */

/** An announce is remembered this long, ms: stored peers expire after about 30 minutes anyway. */
export const REANNOUNCE_MEMORY_MS = 30 * 60_000;
/** Announces remembered at most; the oldest is forgotten first. */
export const MAX_REANNOUNCES = 1_024;

export interface Remembered {
  infoHash: Uint8Array;
  port: number | undefined;
  seed: boolean;
  at: number;
}

export class Reannouncer {
  private readonly recent = new Map<string, Remembered>();

  remember(infoHash: Uint8Array, port: number | undefined, seed: boolean, now: number): void {
    const key = Buffer.from(infoHash).toString('hex');
    this.recent.delete(key);
    this.recent.set(key, { infoHash: infoHash.slice(), port, seed, at: now });
    if (this.recent.size > MAX_REANNOUNCES) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /** The announces still worth repeating at `now`, oldest first; forgets the expired. */
  due(now: number): Remembered[] {
    for (const [key, r] of this.recent) if (now - r.at >= REANNOUNCE_MEMORY_MS) this.recent.delete(key);
    return [...this.recent.values()];
  }

  get size(): number {
    return this.recent.size;
  }
}
