/**
 * BEP 51 sampling: a random subset of the infohashes we hold peers for, recomputed at most once
 * per interval, so an indexer gains nothing by asking us again sooner.
 */
import type { PeerStore } from '../../storage/peer-store.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';

/** Most infohashes in one reply: 20 x 20 bytes keeps the datagram well under 1,200 bytes. */
export const MAX_SAMPLES = 20;
/** How long one sample is served, s (BEP 51 caps the advertised interval at 6 hours). */
export const SAMPLE_INTERVAL_S = 60;
export const MAX_SAMPLE_INTERVAL_S = 6 * 3600;
/** Infohashes read from the store to sample from. */
const SAMPLE_POOL = 10_000;

export interface Sample {
  /** Concatenated 20-byte infohashes. */
  samples: Uint8Array;
  /** How many infohashes we hold in total. */
  num: number;
  /** Seconds before asking again is worthwhile. */
  interval: number;
}

export class InfohashSampler {
  private cached: { at: number; sample: Sample } | undefined;
  private readonly intervalS: number;

  constructor(
    private readonly peers: PeerStore,
    private readonly clock: Clock,
    private readonly random: Random,
    intervalS = SAMPLE_INTERVAL_S,
  ) {
    this.intervalS = Math.max(0, Math.min(MAX_SAMPLE_INTERVAL_S, Math.round(intervalS)));
  }

  async sample(): Promise<Sample> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < this.intervalS * 1000) {
      const left = Math.ceil((this.intervalS * 1000 - (now - this.cached.at)) / 1000);
      return { ...this.cached.sample, interval: left };
    }
    const [pool, counts] = await Promise.all([this.peers.infohashes(SAMPLE_POOL), this.peers.counts()]);
    // Partial Fisher-Yates: the first MAX_SAMPLES of a random permutation.
    const picked = pool.slice();
    const n = Math.min(MAX_SAMPLES, picked.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.random.int(picked.length - i);
      [picked[i], picked[j]] = [picked[j] as Uint8Array, picked[i] as Uint8Array];
    }
    const samples = new Uint8Array(n * 20);
    for (let i = 0; i < n; i++) samples.set(picked[i] as Uint8Array, i * 20);
    const sample = { samples, num: counts.infohashes, interval: this.intervalS };
    this.cached = { at: now, sample };
    return sample;
  }
}
