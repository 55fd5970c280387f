/**
 * BEP 44 (storing arbitrary data in the DHT), the pure part: targets, the buffer a mutable item's
 * signature covers, ed25519 keys and signatures, and the checks a storing node makes before it
 * accepts a put. No I/O and no clocks: the storage layer and the protocol handlers call these.
 *
 * Values travel as their *raw bencoded bytes* wherever a signature or hash is involved: BEP 44
 * requires hashing and verifying the verbatim encoding as it appeared on the wire, because decoding
 * and re-encoding is not always an identity.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { bytesEqual } from '../../util/bytes.js';
import type { Random } from '../../util/random.js';
import { type BValue, encode } from '../../wire/bencode.js';
import { KrpcErrorCode } from '../../wire/krpc.js';

/** Largest bencoded `v` a storing node must accept (BEP 44: "MAY reject ... longer than 1000 bytes"). */
export const MAX_VALUE_BYTES = 1000;
/** Longest salt (BEP 44: "MUST NOT be longer than 64 bytes"). */
export const MAX_SALT_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const SEED_BYTES = 32;
/** Items expire this long after their last put (BEP 44: "MAY expire in 2 hours"). */
export const ITEM_TTL_MS = 2 * 60 * 60_000;

/** The codes a put can be refused with: BEP 5's 203 for malformed puts, BEP 44's own for the rest. */
export type Bep44ErrorCode =
  | typeof KrpcErrorCode.Protocol
  | typeof KrpcErrorCode.ValueTooBig
  | typeof KrpcErrorCode.InvalidSignature
  | typeof KrpcErrorCode.SaltTooBig
  | typeof KrpcErrorCode.CasMismatch
  | typeof KrpcErrorCode.SeqTooLow;

export interface Bep44Rejection {
  ok: false;
  /** The KRPC error code to reply with. */
  code: Bep44ErrorCode;
  /** What went wrong and what the putter should do about it. */
  message: string;
}

export type Bep44Check = { ok: true } | Bep44Rejection;

const OK: Bep44Check = { ok: true };

export function reject(code: Bep44ErrorCode, message: string): Bep44Rejection {
  return { ok: false, code, message };
}

// ---------------------------------------------------------------------------------------------
// Targets and the signed buffer

export function sha1(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** Target of an immutable item: SHA-1 of the bencoded value. */
export function immutableTarget(v: BValue): Uint8Array {
  return sha1(encode(v));
}

/** Target of an immutable item from the value's raw bencoded bytes, as received. */
export function immutableTargetOfEncoded(encodedV: Uint8Array): Uint8Array {
  return sha1(encodedV);
}

/** Target of a mutable item: SHA-1 of the public key followed by the salt (an empty salt is no salt). */
export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): Uint8Array {
  return salt && salt.length > 0 ? sha1(publicKey, salt) : sha1(publicKey);
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/**
 * The bytes a mutable item's signature covers, from the value's raw bencoded bytes:
 * `4:salt<len>:<salt>` (only for a non-empty salt) then `3:seqi<seq>e1:v` then the encoded value.
 */
export function signedBufferOfEncoded(seq: number, encodedV: Uint8Array, salt?: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  if (salt && salt.length > 0) parts.push(ascii(`4:salt${salt.length}:`), salt);
  parts.push(ascii(`3:seqi${seq}e1:v`), encodedV);
  return Buffer.concat(parts);
}

/** The bytes a mutable item's signature covers, for a value given decoded. */
export function signedBuffer(seq: number, v: BValue, salt?: Uint8Array): Uint8Array {
  return signedBufferOfEncoded(seq, encode(v), salt);
}

// ---------------------------------------------------------------------------------------------
// ed25519

/** PKCS#8 DER header of an ed25519 private key; the 32-byte seed follows it. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SPKI DER header of an ed25519 public key; the 32-byte key follows it. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519Keypair {
  /** The 32-byte seed the key was made from: the secret to keep. */
  readonly seed: Uint8Array;
  /** The 32-byte public key, BEP 44's `k`. */
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

/** The keypair a 32-byte seed determines. Throws InvalidArgument-style TypeError on a wrong-size seed. */
export function keypairFromSeed(seed: Uint8Array): Ed25519Keypair {
  if (seed.length !== SEED_BYTES)
    throw new TypeError(`an ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - PUBLIC_KEY_BYTES));
  return { seed: seed.slice(), publicKey, privateKey };
}

/** A fresh keypair from injected randomness (the system CSPRNG in production). */
export function generateKeypair(random: Random): Ed25519Keypair {
  return keypairFromSeed(random.bytes(SEED_BYTES));
}

/** ed25519 signature (64 bytes) of a message. */
export function sign(keypair: Ed25519Keypair, message: Uint8Array): Uint8Array {
  return new Uint8Array(edSign(null, message, keypair.privateKey));
}

/**
 * Encodings of the points of small order on edwards25519 (with the sign bit cleared). OpenSSL's
 * verify accepts them: with k = the identity point (01 00..00) and sig = identity ‖ 0, *every*
 * message verifies, so anyone could write any value under that key's targets. Like libsodium, we
 * refuse such public keys and such R halves of signatures.
 */
const SMALL_ORDER_POINTS: readonly Uint8Array[] = [
  `00${'00'.repeat(31)}`, // order 4
  `01${'00'.repeat(31)}`, // identity, order 1
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  `ec${'ff'.repeat(30)}7f`, // p-1, order 2
  `ed${'ff'.repeat(30)}7f`, // p (= 0, non-canonical), order 4
  `ee${'ff'.repeat(30)}7f`, // p+1 (= 1, non-canonical), order 1
].map((h) => new Uint8Array(Buffer.from(h, 'hex')));

/** True when 32 bytes encode a point of small order (either sign). */
export function isSmallOrderPoint(point: Uint8Array): boolean {
  if (point.length !== 32) return false;
  return SMALL_ORDER_POINTS.some((bad) => {
    for (let i = 0; i < 31; i++) if (point[i] !== bad[i]) return false;
    return ((point[31] as number) & 0x7f) === bad[31];
  });
}

/**
 * True when `signature` is a valid ed25519 signature of `message` by `publicKey`. Keys and
 * signatures built on small-order points are refused (see SMALL_ORDER_POINTS). Never throws.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  if (isSmallOrderPoint(publicKey) || isSmallOrderPoint(signature.subarray(0, 32))) return false;
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return edVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Everything a publisher sends in a mutable put, signed. */
export interface SignedMutable {
  k: Uint8Array;
  seq: number;
  /** Raw bencoded value. */
  v: Uint8Array;
  sig: Uint8Array;
  salt?: Uint8Array;
}

/** Sign a value for a mutable put: the publisher's side. */
export function signMutable(
  keypair: Ed25519Keypair,
  seq: number,
  v: BValue,
  salt?: Uint8Array,
): SignedMutable {
  const encodedV = encode(v);
  const sig = sign(keypair, signedBufferOfEncoded(seq, encodedV, salt));
  const out: SignedMutable = { k: keypair.publicKey, seq, v: encodedV, sig };
  if (salt && salt.length > 0) out.salt = salt;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation: what a storing node checks before accepting a put

/** 205 when the bencoded value is over the limit. */
export function checkValueSize(encodedV: Uint8Array, max = MAX_VALUE_BYTES): Bep44Check {
  if (encodedV.length <= max) return OK;
  return reject(
    KrpcErrorCode.ValueTooBig,
    `value too big: bencoded v is ${encodedV.length} bytes, the limit is ${max}; store a smaller value (e.g. a hash pointing to the data)`,
  );
}

/** 207 when the salt is over 64 bytes. */
export function checkSaltSize(salt: Uint8Array | undefined): Bep44Check {
  if (!salt || salt.length <= MAX_SALT_BYTES) return OK;
  return reject(
    KrpcErrorCode.SaltTooBig,
    `salt too big: ${salt.length} bytes, the limit is ${MAX_SALT_BYTES}; use a shorter salt (e.g. a hash of it)`,
  );
}

/** 203 unless seq is a non-negative safe integer (BEP 44 lets nodes reject negative numbers). */
export function checkSeqRange(seq: number): Bep44Check {
  if (Number.isSafeInteger(seq) && seq >= 0) return OK;
  return reject(KrpcErrorCode.Protocol, `seq must be a non-negative integer, got ${seq}`);
}

/** 206 unless `sig` is k's signature over (salt, seq, v). */
export function checkSignature(item: SignedMutable): Bep44Check {
  if (item.k.length !== PUBLIC_KEY_BYTES) {
    return reject(
      KrpcErrorCode.InvalidSignature,
      `invalid signature: k must be ${PUBLIC_KEY_BYTES} bytes, got ${item.k.length}`,
    );
  }
  if (item.sig.length !== SIGNATURE_BYTES) {
    return reject(
      KrpcErrorCode.InvalidSignature,
      `invalid signature: sig must be ${SIGNATURE_BYTES} bytes, got ${item.sig.length}`,
    );
  }
  if (verify(item.k, signedBufferOfEncoded(item.seq, item.v, item.salt), item.sig)) return OK;
  return reject(
    KrpcErrorCode.InvalidSignature,
    'invalid signature: sig does not verify with k over salt, seq and v; sign "4:salt<len>:<salt>3:seqi<seq>e1:v<bencoded v>" with the private key of k',
  );
}

/** What a storing node holds for a target, as far as the sequence checks care. */
export interface CurrentMutable {
  seq: number;
  v: Uint8Array;
}

/**
 * The compare-and-swap and sequence rules against what is stored:
 * cas given and not the stored seq -> 301; seq below the stored seq -> 302; same seq with a
 * different value -> 302 (only a higher seq may change the value). Same seq and same value is
 * accepted: it is a re-put that refreshes the item's lifetime. With nothing stored, cas is ignored.
 */
export function checkSequence(
  current: CurrentMutable | undefined,
  seq: number,
  v: Uint8Array,
  cas?: number,
): Bep44Check {
  if (!current) return OK;
  if (cas !== undefined && cas !== current.seq) {
    return reject(
      KrpcErrorCode.CasMismatch,
      `CAS mismatch: cas ${cas} but the stored seq is ${current.seq}; read the current item and retry with its seq as cas`,
    );
  }
  if (seq < current.seq) {
    return reject(
      KrpcErrorCode.SeqTooLow,
      `sequence number less than current: seq ${seq} < stored seq ${current.seq}; publish with a seq above ${current.seq}`,
    );
  }
  if (seq === current.seq && !bytesEqual(v, current.v)) {
    return reject(
      KrpcErrorCode.SeqTooLow,
      `sequence number not above current: seq ${seq} is already stored with a different value; publish with a seq above ${current.seq}`,
    );
  }
  return OK;
}

/** All stateless checks of a mutable put, in the order a storing node applies them (205, 207, 203, 206). */
export function validateMutable(item: SignedMutable, maxValueBytes = MAX_VALUE_BYTES): Bep44Check {
  const size = checkValueSize(item.v, maxValueBytes);
  if (!size.ok) return size;
  const salt = checkSaltSize(item.salt);
  if (!salt.ok) return salt;
  const seq = checkSeqRange(item.seq);
  if (!seq.ok) return seq;
  return checkSignature(item);
}
