import { randomBytes } from 'node:crypto';

/**
 * Randomness, injected. Production uses the system CSPRNG; the simulator uses a seeded generator so
 * every run replays exactly from its seed.
 */
export interface Random {
  /** n random bytes. */
  bytes(n: number): Uint8Array;
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}

export const systemRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
  float: () => randomBytes(4).readUInt32BE(0) / 0x1_0000_0000,
  int: (max) => Math.floor((randomBytes(4).readUInt32BE(0) / 0x1_0000_0000) * max),
};

/**
 * A small, fast, seeded generator (xoshiro128**). Not for secrets: for the simulator and tests,
 * where the same seed must give the same sequence on every machine.
 */
export class SeededRandom implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(readonly seed: number) {
    // splitmix32 expands the seed into four non-zero words.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** 32 random bits as an unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const word = this.u32();
      out[i] = word & 0xff;
      if (i + 1 < n) out[i + 1] = (word >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (word >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = word >>> 24;
    }
    return out;
  }

  /** A child generator with its own stream, for giving each simulated node its own randomness. */
  fork(): SeededRandom {
    return new SeededRandom(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
