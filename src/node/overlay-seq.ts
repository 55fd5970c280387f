/**
 * A publisher's seq per target, never reused (Skywire #2351: a counter seeded at 1 was rejected
 * after every restart). The next seq is the largest of: the clock in nanoseconds (Skywire's
 * UnixNano, so a fresh install still outranks an old one), one past the last seq used here (kept
 * in the state store across restarts, so a clock that went back does not matter), and one past
 * the highest verified seq the network holds (so a lost state store does not matter either).
 */
import type { StateStore } from '../storage/state-store.js';
import { bytesToBinaryString, toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';

export class PublisherSeqs {
  /** Targets this node published to, so far: one entry each. */
  private readonly last = new Map<string, bigint>();

  constructor(
    private readonly clock: Clock,
    private readonly state: StateStore | undefined,
  ) {}

  async next(target: Uint8Array, highestRemote: bigint): Promise<bigint> {
    const key = bytesToBinaryString(target);
    let last = this.last.get(key);
    if (last === undefined && this.state) {
      const saved = await this.state.loadState(stateKey(target));
      if (saved && saved.length === 8) last = new DataView(saved.buffer, saved.byteOffset).getBigUint64(0);
    }
    const clockNs = BigInt(Math.max(0, Math.floor(this.clock.now()))) * 1_000_000n;
    return [clockNs, (last ?? -1n) + 1n, highestRemote + 1n].reduce((a, b) => (a > b ? a : b));
  }

  async used(target: Uint8Array, seq: bigint): Promise<void> {
    this.last.set(bytesToBinaryString(target), seq);
    if (!this.state) return;
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, seq);
    await this.state.saveState(stateKey(target), bytes);
  }
}

function stateKey(target: Uint8Array): string {
  return `overlay-seq:${toHex(target)}`;
}
