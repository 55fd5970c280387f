/**
 * Skywire's MutableItem (spec §2.1), the pure part: target, the bytes a signature covers, signing,
 * and the checks a node makes before it stores or returns an item. No I/O, no clock.
 *
 * Fixed here, against Skywire: `verifyItem` can check an item against the target it was asked for
 * (Skywire's `Verify` could not, so a node could answer a get with any validly signed item), and
 * deletion is an explicit tombstone (an empty value at a higher seq) that `isTombstone` recognises.
 */
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import { bytesEqual, bytesToBinaryString } from '../../util/bytes.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { sha256 } from '../../util/sha256.js';
import { OVERLAY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './constants.js';
import { verifyDigest } from './identity.js';

export interface MutableItem {
  /** The signer's 33-byte compressed secp256k1 public key. */
  k: Uint8Array;
  /** Monotonic per target, uint64 (Skywire's publishers use UnixNano, beyond 2^53). */
  seq: bigint;
  /** 65 bytes r || s || recid over signPayload(seq, v, salt). */
  sig: Uint8Array;
  v: Uint8Array;
  /** Namespace; empty for none. */
  salt: Uint8Array;
}

/** Longest salt (Skywire's MaxSaltSize). */
export const MAX_SALT_BYTES = 200;
/** Default largest value (Skywire's final MaxValueSize, PR #2349). */
export const DEFAULT_MAX_VALUE_BYTES = 65_536;
export const MAX_SEQ = (1n << 64n) - 1n;

export interface ItemLimits {
  /** Largest value a node accepts, in bytes. */
  maxValueBytes: number;
}

export const DEFAULT_ITEM_LIMITS: Readonly<ItemLimits> = Object.freeze({
  maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
});

export type ItemFailureCode =
  'MALFORMED' | 'VALUE_TOO_BIG' | 'SALT_TOO_BIG' | 'TARGET_MISMATCH' | 'BAD_SIGNATURE';

export interface ItemFailure {
  ok: false;
  code: ItemFailureCode;
  /** Starts with Skywire's error text where it has one, then says what to do. */
  message: string;
}

export type ItemCheck = { ok: true } | ItemFailure;

/** What signs items: an OverlayIdentity, or anything holding a key that signs the same way. */
export interface ItemSigner {
  readonly publicKey: Uint8Array;
  sign(payload: Uint8Array): Uint8Array;
}

const OK: ItemCheck = Object.freeze({ ok: true });
const EMPTY = new Uint8Array(0);

function fail(code: ItemFailureCode, message: string): ItemFailure {
  return { ok: false, code, message };
}

/** An item's storage key: SHA-256(public key || salt), no separator. */
export function itemTarget(publicKey: Uint8Array, salt: Uint8Array = EMPTY): NodeId {
  const buf = new Uint8Array(publicKey.length + salt.length);
  buf.set(publicKey, 0);
  buf.set(salt, publicKey.length);
  return asNodeId(sha256(buf));
}

/** The signed bytes: seq (8 BE) || len(v) (4 BE) || v || len(salt) (4 BE) || salt. */
export function signPayload(seq: bigint, v: Uint8Array, salt: Uint8Array = EMPTY): Uint8Array {
  if (seq < 0n || seq > MAX_SEQ) throw new InvalidArgumentError(`seq must be a uint64, got ${seq}`);
  const out = new Uint8Array(8 + 4 + v.length + 4 + salt.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, seq);
  view.setUint32(8, v.length);
  out.set(v, 12);
  view.setUint32(12 + v.length, salt.length);
  out.set(salt, 16 + v.length);
  return out;
}

/** A signed item. Throws on a seq outside uint64 or a salt over MAX_SALT_BYTES (caller errors). */
export function signItem(
  signer: ItemSigner,
  v: Uint8Array,
  seq: bigint,
  salt: Uint8Array = EMPTY,
): MutableItem {
  if (salt.length > MAX_SALT_BYTES) {
    throw new InvalidArgumentError(`salt is ${salt.length} bytes; at most ${MAX_SALT_BYTES}`);
  }
  const payload = signPayload(seq, v, salt);
  return { k: signer.publicKey.slice(), seq, sig: signer.sign(payload), v: v.slice(), salt: salt.slice() };
}

/**
 * A tombstone: an empty value at `seq`, which must be higher than the seq of the item it deletes
 * (stores keep only increasing seqs, so the tombstone replaces the item everywhere it lands).
 */
export function tombstone(signer: ItemSigner, seq: bigint, salt: Uint8Array = EMPTY): MutableItem {
  return signItem(signer, EMPTY, seq, salt);
}

/** True for a deleted item (an empty value). */
export function isTombstone(item: MutableItem): boolean {
  return item.v.length === 0;
}

/**
 * The checks before storing or returning an item: shape, value size, salt size, the target asked
 * for (when given), then the signature (the costly one, last). Never throws.
 */
export function verifyItem(
  item: MutableItem,
  limits: ItemLimits = DEFAULT_ITEM_LIMITS,
  expectedTarget?: Uint8Array,
): ItemCheck {
  if (
    item === null ||
    typeof item !== 'object' ||
    !(item.k instanceof Uint8Array) ||
    !(item.sig instanceof Uint8Array) ||
    !(item.v instanceof Uint8Array) ||
    !(item.salt instanceof Uint8Array) ||
    typeof item.seq !== 'bigint'
  ) {
    return fail('MALFORMED', 'dht: malformed item: k, sig, v and salt must be bytes and seq a bigint');
  }
  if (item.k.length !== PUBLIC_KEY_BYTES) {
    return fail(
      'MALFORMED',
      `dht: malformed item: k is ${item.k.length} bytes, expected ${PUBLIC_KEY_BYTES}`,
    );
  }
  if (item.sig.length !== SIGNATURE_BYTES) {
    return fail(
      'MALFORMED',
      `dht: malformed item: sig is ${item.sig.length} bytes, expected ${SIGNATURE_BYTES}`,
    );
  }
  if (item.seq < 0n || item.seq > MAX_SEQ) {
    return fail('MALFORMED', `dht: malformed item: seq ${item.seq} is not a uint64`);
  }
  if (item.v.length > limits.maxValueBytes) {
    return fail(
      'VALUE_TOO_BIG',
      `dht: value exceeds max size (${item.v.length} > ${limits.maxValueBytes} bytes); store less or split it`,
    );
  }
  if (item.salt.length > MAX_SALT_BYTES) {
    return fail(
      'SALT_TOO_BIG',
      `dht: salt exceeds max size (${item.salt.length} > ${MAX_SALT_BYTES} bytes); use a shorter salt`,
    );
  }
  if (expectedTarget !== undefined) {
    if (
      expectedTarget.length !== OVERLAY_ID_BYTES ||
      !bytesEqual(itemTarget(item.k, item.salt), expectedTarget)
    ) {
      return fail(
        'TARGET_MISMATCH',
        'dht: item does not match the target asked for (SHA-256(k || salt) differs); ignore it and ask another node',
      );
    }
  }
  if (!verifiedBefore(item)) {
    return fail(
      'BAD_SIGNATURE',
      'dht: invalid signature: sig does not verify for k over (seq, v, salt); re-sign the item with its key',
    );
  }
  return OK;
}

/**
 * Signatures already verified, by (key, signature, digest of the payload): a lookup hears the same
 * item from up to k nodes, and a full node sees it again in every reconcile. Only successes are
 * kept, for exactly the bytes that were checked, so the cache can never make a bad item pass.
 * Bounded; the oldest entry goes first.
 */
const VERIFIED_CACHE_SIZE = 4_096;
const verified = new Map<string, true>();

function verifiedBefore(item: MutableItem): boolean {
  const digest = sha256(signPayload(item.seq, item.v, item.salt));
  const key = bytesToBinaryString(item.k) + bytesToBinaryString(item.sig) + bytesToBinaryString(digest);
  if (verified.has(key)) return true;
  if (!verifyDigest(item.k, digest, item.sig)) return false;
  if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
  verified.set(key, true);
  return true;
}
