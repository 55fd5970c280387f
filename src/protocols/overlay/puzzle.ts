/**
 * S/Kademlia crypto puzzles (Baumgart and Mies, 2007, §4.1), the overlay's price on an identity.
 *
 * - Static: the node id is SHA-256(public key), and SHA-256(id) must start with `staticBits` zero
 *   bits. Keys are drawn until one fits, so an id costs about 2^staticBits key generations, and an
 *   attacker cannot pick where in the id space it lands.
 * - Dynamic: a 32-byte X such that SHA-256(id XOR X) starts with `dynamicBits` zero bits: about
 *   2^dynamicBits hashes per id, paid again whenever a network raises the difficulty, without a
 *   new key.
 *
 * Checking either costs one or two SHA-256 of 32 bytes, so a node checks every contact before it
 * enters a table. Difficulty is per network; 0/0 makes every key and every X valid (the simulator
 * makes 10,000 ids).
 */
import { InvalidArgumentError } from '../../util/errors.js';
import { sha256 } from '../../util/sha256.js';
import { PUBLIC_KEY_BYTES } from './constants.js';

export const PUZZLE_BYTES = 32;
/** The highest difficulty accepted for either puzzle: beyond it an honest node cannot join at all. */
export const MAX_PUZZLE_BITS = 40;

export interface PuzzleDifficulty {
  /** Leading zero bits of SHA-256(id): about 2^staticBits key generations per id. */
  staticBits: number;
  /** Leading zero bits of SHA-256(id XOR X): about 2^dynamicBits SHA-256 per id. */
  dynamicBits: number;
}

/**
 * The default difficulty, chosen after measuring (docs/OVERLAY.md, "Puzzles"): on the development
 * VM a new identity costs about 1 s of key generation (2^10 keys through @noble/curves) and 0.2 s
 * of hashing (2^16 SHA-256), once per node lifetime since the key file keeps both; a check costs
 * three SHA-256 (microseconds). Higher static difficulty mostly taxes honest nodes: an attacker
 * with native secp256k1 makes keys 20-50x faster than noble does.
 */
export const DEFAULT_PUZZLE_DIFFICULTY: Readonly<PuzzleDifficulty> = Object.freeze({
  staticBits: 10,
  dynamicBits: 16,
});

/** No puzzles: every key and every X is valid. For the simulator and tests. */
export const NO_PUZZLE: Readonly<PuzzleDifficulty> = Object.freeze({ staticBits: 0, dynamicBits: 0 });

/** Number of leading zero bits of `bytes` (bytes.length * 8 when all zero). */
export function leadingZeroBits(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b !== 0) return i * 8 + Math.clz32(b) - 24;
  }
  return bytes.length * 8;
}

/** Throws when a difficulty is not a whole number of bits in [0, MAX_PUZZLE_BITS]. */
export function assertDifficulty(difficulty: PuzzleDifficulty): void {
  for (const [name, bits] of [
    ['staticBits', difficulty.staticBits],
    ['dynamicBits', difficulty.dynamicBits],
  ] as const) {
    if (!Number.isInteger(bits) || bits < 0 || bits > MAX_PUZZLE_BITS) {
      throw new InvalidArgumentError(
        `${name} must be an integer from 0 to ${MAX_PUZZLE_BITS}, got ${String(bits)}; use the network's difficulty`,
      );
    }
  }
}

/** The static puzzle: SHA-256(id) starts with `bits` zero bits. */
export function checkStatic(id: Uint8Array, bits: number): boolean {
  return bits <= 0 || leadingZeroBits(sha256(id)) >= bits;
}

/** The dynamic puzzle: SHA-256(id XOR x) starts with `bits` zero bits. */
export function checkDynamic(id: Uint8Array, x: Uint8Array, bits: number): boolean {
  if (x.length !== PUZZLE_BYTES || id.length !== PUZZLE_BYTES) return false;
  if (bits <= 0) return true;
  const mixed = new Uint8Array(PUZZLE_BYTES);
  for (let i = 0; i < PUZZLE_BYTES; i++) mixed[i] = (id[i] as number) ^ (x[i] as number);
  return leadingZeroBits(sha256(mixed)) >= bits;
}

/**
 * Find an X for `id` at `bits` difficulty: X counts up from zero in its last eight bytes, so the
 * answer is deterministic for an id (no randomness needed) and about 2^bits hashes away.
 * With bits = 0 the answer is 32 zero bytes at once.
 */
export function solveDynamic(id: Uint8Array, bits: number): Uint8Array {
  if (id.length !== PUZZLE_BYTES) throw new InvalidArgumentError(`an overlay id is ${PUZZLE_BYTES} bytes`);
  assertDifficulty({ staticBits: 0, dynamicBits: bits });
  const x = new Uint8Array(PUZZLE_BYTES);
  if (bits === 0) return x;
  const mixed = id.slice();
  // Bounded: each try succeeds with probability 2^-bits, so 2^(bits+8) tries fail with
  // probability e^-256; the counter in bytes 24..31 never wraps before that.
  const limit = 2 ** (bits + 8);
  for (let tries = 0; tries < limit; tries++) {
    if (leadingZeroBits(sha256(mixed)) >= bits) return x;
    // Increment X (big-endian) and update only the bytes of id XOR X that changed.
    for (let i = PUZZLE_BYTES - 1; i >= 0; i--) {
      const next = ((x[i] as number) + 1) & 0xff;
      x[i] = next;
      mixed[i] = (id[i] as number) ^ next;
      if (next !== 0) break;
    }
  }
  throw new InvalidArgumentError(`no dynamic puzzle solution found in ${limit} tries; lower dynamicBits`);
}

/**
 * Both puzzles for a contact's public key and X: undefined when it passes, otherwise the reason
 * (for logs and the refusal the peer is sent). Costs two or three SHA-256.
 */
export function checkPuzzles(
  publicKey: Uint8Array,
  x: Uint8Array,
  difficulty: PuzzleDifficulty,
): string | undefined {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    return `public key is ${publicKey.length} bytes, expected ${PUBLIC_KEY_BYTES} (compressed secp256k1)`;
  }
  if (x.length !== PUZZLE_BYTES) return `puzzle solution is ${x.length} bytes, expected ${PUZZLE_BYTES}`;
  const id = sha256(publicKey);
  if (!checkStatic(id, difficulty.staticBits)) {
    return `id fails the static puzzle: SHA-256(id) needs ${difficulty.staticBits} leading zero bits; generate a new key for this network`;
  }
  if (!checkDynamic(id, x, difficulty.dynamicBits)) {
    return `puzzle solution fails the dynamic puzzle: SHA-256(id XOR X) needs ${difficulty.dynamicBits} leading zero bits; solve it again for this network`;
  }
  return undefined;
}
