/**
 * Overlay identities: a secp256k1 key pair (through @noble/curves, no curve code of ours), the node
 * id SHA-256(33-byte compressed public key), and the dynamic-puzzle solution for that id.
 *
 * Signatures are Skywire's (Skycoin's) 65 bytes r || s || recovery id, low S, over SHA-256 of the
 * payload. noble's 'recovered' format puts the recovery id first, so the bytes are moved here and
 * nowhere else. Signing is RFC 6979 deterministic (Skycoin draws a random nonce; a verifier cannot
 * tell the difference, and a fixed key and payload then give test vectors a fixed signature).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import { bytesEqual, bytesToBinaryString } from '../../util/bytes.js';
import { InvalidArgumentError, KadmiumError } from '../../util/errors.js';
import { type Random, systemRandom } from '../../util/random.js';
import { sha256 } from '../../util/sha256.js';
import { DIGEST_BYTES, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES } from './constants.js';
import {
  assertDifficulty,
  checkDynamic,
  checkStatic,
  DEFAULT_PUZZLE_DIFFICULTY,
  PUZZLE_BYTES,
  type PuzzleDifficulty,
  solveDynamic,
} from './puzzle.js';

export { OVERLAY_ID_BYTES, PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES } from './constants.js';

export interface GenerateOptions {
  /** Static puzzle difficulty the key must meet; default DEFAULT_PUZZLE_DIFFICULTY.staticBits. */
  staticBits?: number;
  /** Dynamic puzzle difficulty to solve for; default DEFAULT_PUZZLE_DIFFICULTY.dynamicBits. */
  dynamicBits?: number;
  /** Where secret keys come from; default the system CSPRNG (the simulator passes a seeded one). */
  random?: Random;
}

export interface FromSecretKeyOptions {
  /** When given, the key must meet this static difficulty (a loaded key is otherwise taken as is). */
  staticBits?: number;
  /** Dynamic difficulty to solve for when no `puzzle` is given; default DEFAULT_PUZZLE_DIFFICULTY. */
  dynamicBits?: number;
  /** A stored puzzle solution; checked against `dynamicBits` when that is given. */
  puzzle?: Uint8Array;
}

/** The key meets no puzzle of the network, or a stored puzzle solution is wrong. */
export class PuzzleError extends KadmiumError {
  constructor(message: string) {
    super('PUZZLE_FAILED', message);
  }
}

/** secp256k1's group order n. */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
/** Largest simulatedBatch: the 100,000-node simulator run, with room. */
export const MAX_SIMULATED_BATCH = 1_000_000;

/** s of a low-S signature is at most n/2 (secp256k1's group order halved), big-endian. */
const HALF_ORDER = Uint8Array.from(
  Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex'),
);

export class OverlayIdentity {
  readonly #secretKey: Uint8Array;
  /** 33-byte compressed secp256k1 public key. */
  readonly publicKey: Uint8Array;
  /** SHA-256(publicKey). */
  readonly id: NodeId;
  /** 32-byte dynamic-puzzle solution X for this id. */
  readonly puzzle: Uint8Array;

  private constructor(secretKey: Uint8Array, publicKey: Uint8Array, puzzle: Uint8Array) {
    this.#secretKey = secretKey;
    this.publicKey = publicKey;
    this.id = overlayIdOf(publicKey);
    this.puzzle = puzzle;
  }

  /**
   * A fresh identity that meets the static puzzle, with its dynamic puzzle solved. Costs about
   * 2^staticBits key generations and 2^dynamicBits hashes (see docs/OVERLAY.md, "Puzzles").
   */
  static generate(options: GenerateOptions = {}): OverlayIdentity {
    const difficulty: PuzzleDifficulty = {
      staticBits: options.staticBits ?? DEFAULT_PUZZLE_DIFFICULTY.staticBits,
      dynamicBits: options.dynamicBits ?? DEFAULT_PUZZLE_DIFFICULTY.dynamicBits,
    };
    assertDifficulty(difficulty);
    const random = options.random ?? systemRandom;
    // Bounded: each key fits with probability 2^-staticBits; 2^(staticBits+8) misses in a row
    // happen with probability e^-256.
    const limit = 2 ** (difficulty.staticBits + 8);
    for (let tries = 0; tries < limit; tries++) {
      const secretKey = random.bytes(SECRET_KEY_BYTES);
      if (!secp256k1.utils.isValidSecretKey(secretKey)) continue;
      const publicKey = secp256k1.getPublicKey(secretKey, true);
      const id = sha256(publicKey);
      if (!checkStatic(id, difficulty.staticBits)) continue;
      return new OverlayIdentity(secretKey, publicKey, solveDynamic(id, difficulty.dynamicBits));
    }
    throw new PuzzleError(
      `no key met staticBits=${difficulty.staticBits} in ${limit} tries; lower staticBits`,
    );
  }

  /**
   * `count` identities for the simulator, at difficulty 0/0, about 7x faster than `generate`:
   * the secret keys are consecutive (k, k+1, ...) so each public key is the previous one plus G,
   * one point addition instead of a scalar multiplication. **Never for a real network**: anyone
   * holding one of these keys can compute all the others.
   */
  static simulatedBatch(count: number, random: Random): OverlayIdentity[] {
    if (!Number.isInteger(count) || count < 0 || count > MAX_SIMULATED_BATCH) {
      throw new InvalidArgumentError(
        `simulatedBatch makes 0 to ${MAX_SIMULATED_BATCH} identities, got ${count}`,
      );
    }
    let first = 0n;
    // Bounded: a random 256-bit value lands in [1, n - count) with probability > 1 - 2^-100.
    for (let tries = 0; tries < 64 && (first === 0n || first >= CURVE_ORDER - BigInt(count)); tries++) {
      first = BigInt(`0x${Buffer.from(random.bytes(SECRET_KEY_BYTES)).toString('hex')}`);
    }
    if (first === 0n || first >= CURVE_ORDER - BigInt(count)) {
      throw new InvalidArgumentError('the random source gave no usable secret key in 64 draws');
    }
    const out: OverlayIdentity[] = [];
    const G = secp256k1.Point.BASE;
    let point = G.multiply(first);
    const noPuzzle = new Uint8Array(PUZZLE_BYTES);
    for (let i = 0; i < count; i++) {
      const secretKey = Uint8Array.from(
        Buffer.from((first + BigInt(i)).toString(16).padStart(SECRET_KEY_BYTES * 2, '0'), 'hex'),
      );
      out.push(new OverlayIdentity(secretKey, point.toBytes(true), noPuzzle.slice()));
      point = point.add(G);
    }
    return out;
  }

  /** The identity of a stored secret key (32 bytes, a valid secp256k1 scalar). */
  static fromSecretKey(secretKey: Uint8Array, options: FromSecretKeyOptions = {}): OverlayIdentity {
    if (secretKey.length !== SECRET_KEY_BYTES || !secp256k1.utils.isValidSecretKey(secretKey)) {
      throw new InvalidArgumentError(
        `a secp256k1 secret key is ${SECRET_KEY_BYTES} bytes in [1, n-1]; generate one with kadmium overlay keygen`,
      );
    }
    const key = secretKey.slice();
    const publicKey = secp256k1.getPublicKey(key, true);
    const id = sha256(publicKey);
    if (options.staticBits !== undefined) {
      assertDifficulty({ staticBits: options.staticBits, dynamicBits: 0 });
      if (!checkStatic(id, options.staticBits)) {
        throw new PuzzleError(
          `this key's id fails the static puzzle at ${options.staticBits} bits; generate a new key for this network`,
        );
      }
    }
    if (options.puzzle !== undefined) {
      const bits = options.dynamicBits ?? 0;
      if (!checkDynamic(id, options.puzzle, bits)) {
        throw new PuzzleError(
          `the stored puzzle solution does not solve the dynamic puzzle at ${bits} bits; solve it again (drop "puzzle" from the key file)`,
        );
      }
      return new OverlayIdentity(key, publicKey, options.puzzle.slice());
    }
    const bits = options.dynamicBits ?? DEFAULT_PUZZLE_DIFFICULTY.dynamicBits;
    return new OverlayIdentity(key, publicKey, solveDynamic(id, bits));
  }

  /** A copy of the 32-byte secret key, for key files. Keep it secret. */
  exportSecretKey(): Uint8Array {
    return this.#secretKey.slice();
  }

  /** 65 bytes r || s || recid over a 32-byte digest, low S. */
  signDigest(digest: Uint8Array): Uint8Array {
    if (digest.length !== DIGEST_BYTES) {
      throw new InvalidArgumentError(`a digest to sign is ${DIGEST_BYTES} bytes, got ${digest.length}`);
    }
    const recovered = secp256k1.sign(digest, this.#secretKey, {
      prehash: false,
      lowS: true,
      format: 'recovered',
    });
    const out = new Uint8Array(SIGNATURE_BYTES);
    out.set(recovered.subarray(1, 65), 0);
    out[64] = recovered[0] as number;
    return out;
  }

  /** Skywire's SignPayload: signDigest(SHA-256(payload)). */
  sign(payload: Uint8Array): Uint8Array {
    return this.signDigest(sha256(payload));
  }
}

/** The overlay node id of a public key: SHA-256 of its 33 compressed bytes. */
export function overlayIdOf(publicKey: Uint8Array): NodeId {
  return asNodeId(sha256(publicKey));
}

/** True when `publicKey` is a 33-byte compressed key of a point on secp256k1. */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    return secp256k1.utils.isValidPublicKey(publicKey, true);
  } catch {
    return false;
  }
}

/**
 * Skywire's verification: refuse a set top bit of S and a recovery id of 4 or more, recover the
 * key from the signature and compare it with the expected one. Stricter in one respect: S must be
 * at most n/2 (true low S, which Skycoin's signer always produces; the top-bit test alone admits
 * S in (n/2, 2^255), a malleated twin of a valid signature). Never throws.
 */
export function verifyDigest(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || digest.length !== DIGEST_BYTES) return false;
  if (signature.length !== SIGNATURE_BYTES) return false;
  const key = bytesToBinaryString(publicKey) + bytesToBinaryString(digest) + bytesToBinaryString(signature);
  if (goodSignatures.has(key)) return true;
  if (!recoverAndCompare(publicKey, digest, signature)) return false;
  if (signatureCacheSize === 0) return true;
  if (goodSignatures.size >= signatureCacheSize)
    goodSignatures.delete(goodSignatures.keys().next().value as string);
  goodSignatures.set(key, true);
  return true;
}

/**
 * Signatures that verified, by the exact (key, digest, signature) bytes checked: a discovery
 * record is checked again on every read of it, and an item by every node that stores or returns
 * it. Only successes are kept, so the cache can never make a bad signature pass; it only saves the
 * key recovery (about 0.3 ms). Bounded; the oldest entry goes first.
 */
export const SIGNATURE_CACHE_SIZE = 8_192;
let signatureCacheSize = SIGNATURE_CACHE_SIZE;
const goodSignatures = new Map<string, true>();

/**
 * Resize the process-wide cache of good signatures (about 200 bytes an entry). A simulator holding
 * thousands of nodes in one process raises it so each signature is recovered once, not once per
 * node that checks it; the answer is the same either way.
 */
export function setSignatureCacheSize(entries: number): void {
  if (!Number.isInteger(entries) || entries < 0)
    throw new InvalidArgumentError(`the signature cache size is a whole number of entries, got ${entries}`);
  signatureCacheSize = entries;
  while (goodSignatures.size > entries) goodSignatures.delete(goodSignatures.keys().next().value as string);
}

function recoverAndCompare(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if ((signature[32] as number) >> 7 === 1) return false;
  const recid = signature[64] as number;
  if (recid >= 4) return false;
  if (compareBigEndian(signature, 32, HALF_ORDER) > 0) return false;
  const recovered = new Uint8Array(SIGNATURE_BYTES);
  recovered[0] = recid;
  recovered.set(signature.subarray(0, 64), 1);
  try {
    const key = secp256k1.recoverPublicKey(recovered, digest, { prehash: false });
    return bytesEqual(key, publicKey);
  } catch {
    // r or s zero or out of range, or no point for r at this recovery id.
    return false;
  }
}

/** Skywire's VerifyPubKeySignedPayload: verifyDigest over SHA-256(payload). */
export function verifyPayload(publicKey: Uint8Array, payload: Uint8Array, signature: Uint8Array): boolean {
  return verifyDigest(publicKey, sha256(payload), signature);
}

/** Compare the 32 bytes of `a` from `offset` with `b`, big-endian. */
function compareBigEndian(a: Uint8Array, offset: number, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[offset + i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}
