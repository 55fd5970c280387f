/**
 * The handshake's messages, transcript digests and key schedule, as pure functions. Every decoder
 * checks the exact length and returns undefined on anything else; nothing here throws on input.
 *
 *   HELLO  I -> R  [ver][1][flags][nonce_I 32][eph_I 32]                                   67 bytes
 *   REPLY  R -> I  [ver][2][nonce_R 32][eph_R 32][static_R 33][puzzle_R 32][sig_R 65]      196 bytes
 *   PROOF  I -> R  [ver][3][static_I 33][puzzle_I 32][sig_I 65]                            132 bytes
 *   REFUSE either  [ver][0x7f][UTF-8 reason, at most 200 bytes]        (plaintext, unauthenticated)
 *
 * sig_R signs SHA-256(LABEL_R || HELLO || REPLY without sig_R): it covers the initiator's fresh
 * nonce and both ephemeral keys. sig_I signs SHA-256(LABEL_I || HELLO || REPLY || PROOF without
 * sig_I): the responder's fresh nonce, both ephemeral keys, and the responder's signature.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { type KeyObject, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';

export const HANDSHAKE_VERSION = 1;
export const NONCE_BYTES = 32;
export const EPHEMERAL_KEY_BYTES = 32;
export const STATIC_KEY_BYTES = 33;
export const PUZZLE_BYTES = 32;
export const SIGNATURE_BYTES = 65;
export const MAX_REFUSE_REASON_BYTES = 200;
/** No handshake message is longer; the reader's limit until the channel is up. */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 256;

export const MessageType = { Hello: 1, Reply: 2, Proof: 3, Refuse: 0x7f } as const;

/** HELLO flag: "I hold no live connection to you; drop any you keep for me" (see tcp.ts). */
export const FLAG_REPLACE = 0x01;
/**
 * HELLO flag: "a reachability probe: prove your key and I hang up". The responder answers with its
 * signed REPLY and ends the stream; nothing is pooled on either side.
 */
export const FLAG_PROBE = 0x02;
const KNOWN_FLAGS = FLAG_REPLACE | FLAG_PROBE;
/** The responder's HandshakeError reason once it answered a probe (not a failure). */
export const PROBE_ANSWERED = 'probe answered';

export const HELLO_BYTES = 3 + NONCE_BYTES + EPHEMERAL_KEY_BYTES;
const REPLY_SIGNED_BYTES = 2 + NONCE_BYTES + EPHEMERAL_KEY_BYTES + STATIC_KEY_BYTES + PUZZLE_BYTES;
export const REPLY_BYTES = REPLY_SIGNED_BYTES + SIGNATURE_BYTES;
const PROOF_SIGNED_BYTES = 2 + STATIC_KEY_BYTES + PUZZLE_BYTES;
export const PROOF_BYTES = PROOF_SIGNED_BYTES + SIGNATURE_BYTES;

// The labels start with "kadmium-", so a signed transcript can never parse as a Skywire item
// payload (whose bytes 8-11 are len(v): "over" would claim a 1.8 GB value).
const enc = new TextEncoder();
const LABEL_RESPONDER = enc.encode('kadmium-overlay-channel-v1 responder signature');
const LABEL_INITIATOR = enc.encode('kadmium-overlay-channel-v1 initiator signature');
const LABEL_KEYS = enc.encode('kadmium-overlay-channel-v1 session keys');
const INFO_I2R = enc.encode('kadmium-overlay-channel-v1 initiator to responder');
const INFO_R2I = enc.encode('kadmium-overlay-channel-v1 responder to initiator');

export interface Hello {
  version: number;
  flags: number;
  nonce: Uint8Array;
  ephemeral: Uint8Array;
}
export interface Reply {
  nonce: Uint8Array;
  ephemeral: Uint8Array;
  staticKey: Uint8Array;
  puzzle: Uint8Array;
  signature: Uint8Array;
}
export interface Proof {
  staticKey: Uint8Array;
  puzzle: Uint8Array;
  signature: Uint8Array;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function encodeHello(flags: number, nonce: Uint8Array, ephemeral: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(HANDSHAKE_VERSION, MessageType.Hello, flags), nonce, ephemeral]);
}

/** The HELLO, or a reason it is not one. A version mismatch is reported as such, for the refusal. */
export function decodeHello(bytes: Uint8Array): Hello | string {
  if (bytes.length < 2 || bytes[1] !== MessageType.Hello) return 'expected a HELLO message';
  if (bytes[0] !== HANDSHAKE_VERSION)
    return `unsupported handshake version ${bytes[0]}; this node speaks ${HANDSHAKE_VERSION}`;
  if (bytes.length !== HELLO_BYTES) return `HELLO of ${bytes.length} bytes, expected ${HELLO_BYTES}`;
  const flags = bytes[2] as number;
  if ((flags & ~KNOWN_FLAGS) !== 0) return `unknown HELLO flags 0x${flags.toString(16)}`;
  return {
    version: HANDSHAKE_VERSION,
    flags,
    nonce: bytes.slice(3, 3 + NONCE_BYTES),
    ephemeral: bytes.slice(3 + NONCE_BYTES, HELLO_BYTES),
  };
}

/** The REPLY without its signature: what the responder signs (after the label and the HELLO). */
export function replySignedPart(
  nonce: Uint8Array,
  ephemeral: Uint8Array,
  staticKey: Uint8Array,
  puzzle: Uint8Array,
): Uint8Array {
  return concat([Uint8Array.of(HANDSHAKE_VERSION, MessageType.Reply), nonce, ephemeral, staticKey, puzzle]);
}

export function decodeReply(bytes: Uint8Array): Reply | string {
  if (bytes.length < 2 || bytes[0] !== HANDSHAKE_VERSION || bytes[1] !== MessageType.Reply)
    return 'expected a REPLY message';
  if (bytes.length !== REPLY_BYTES) return `REPLY of ${bytes.length} bytes, expected ${REPLY_BYTES}`;
  let off = 2;
  const take = (n: number): Uint8Array => bytes.slice(off, (off += n));
  return {
    nonce: take(NONCE_BYTES),
    ephemeral: take(EPHEMERAL_KEY_BYTES),
    staticKey: take(STATIC_KEY_BYTES),
    puzzle: take(PUZZLE_BYTES),
    signature: take(SIGNATURE_BYTES),
  };
}

export function proofSignedPart(staticKey: Uint8Array, puzzle: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(HANDSHAKE_VERSION, MessageType.Proof), staticKey, puzzle]);
}

export function decodeProof(bytes: Uint8Array): Proof | string {
  if (bytes.length < 2 || bytes[0] !== HANDSHAKE_VERSION || bytes[1] !== MessageType.Proof)
    return 'expected a PROOF message';
  if (bytes.length !== PROOF_BYTES) return `PROOF of ${bytes.length} bytes, expected ${PROOF_BYTES}`;
  let off = 2;
  const take = (n: number): Uint8Array => bytes.slice(off, (off += n));
  return { staticKey: take(STATIC_KEY_BYTES), puzzle: take(PUZZLE_BYTES), signature: take(SIGNATURE_BYTES) };
}

export function encodeRefuse(reason: string): Uint8Array {
  let text = enc.encode(reason);
  if (text.length > MAX_REFUSE_REASON_BYTES) text = text.subarray(0, MAX_REFUSE_REASON_BYTES);
  return concat([Uint8Array.of(HANDSHAKE_VERSION, MessageType.Refuse), text]);
}

/** The peer's stated reason, made printable, or undefined when bytes are not a REFUSE. */
export function decodeRefuse(bytes: Uint8Array): string | undefined {
  if (bytes.length < 2 || bytes.length > 2 + MAX_REFUSE_REASON_BYTES) return undefined;
  if (bytes[1] !== MessageType.Refuse) return undefined;
  // Control characters from an unauthenticated peer must not reach a log line as they are.
  return new TextDecoder().decode(bytes.subarray(2)).replace(/[\u0000-\u001f\u007f]/g, '?');
}

export function responderDigest(hello: Uint8Array, replySigned: Uint8Array): Uint8Array {
  return sha256(concat([LABEL_RESPONDER, hello, replySigned]));
}

export function initiatorDigest(hello: Uint8Array, reply: Uint8Array, proofSigned: Uint8Array): Uint8Array {
  return sha256(concat([LABEL_INITIATOR, hello, reply, proofSigned]));
}

export interface EphemeralKey {
  secret: Uint8Array;
  publicKey: Uint8Array;
}

// X25519 through node:crypto (OpenSSL), several times faster than pure JS; the ephemeral secret
// still comes from the injected Random. Keys are imported as JWK (RFC 8037): OpenSSL 3's DER
// decoders cost ~10x more per import. Node builds the private key from `d` alone; `x` must be
// present, and the real public key is read back from the key object.
const ZERO_X = Buffer.alloc(EPHEMERAL_KEY_BYTES).toString('base64url');

function privateX25519(secret: Uint8Array, publicKey?: Uint8Array): KeyObject {
  return createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'X25519',
      d: Buffer.from(secret).toString('base64url'),
      x: publicKey ? Buffer.from(publicKey).toString('base64url') : ZERO_X,
    },
    format: 'jwk',
  });
}

export function ephemeralFromSecret(secret: Uint8Array): EphemeralKey {
  const jwk = createPublicKey(privateX25519(secret)).export({ format: 'jwk' });
  return { secret, publicKey: new Uint8Array(Buffer.from(jwk.x as string, 'base64url')) };
}

/** The X25519 shared secret, or undefined for a malformed or low-order peer key (all-zero output). */
export function x25519SharedSecret(secret: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | undefined {
  if (peerPublicKey.length !== EPHEMERAL_KEY_BYTES) return undefined;
  try {
    const shared = diffieHellman({
      privateKey: privateX25519(secret),
      publicKey: createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublicKey).toString('base64url') },
        format: 'jwk',
      }),
    });
    return shared.every((b) => b === 0) ? undefined : new Uint8Array(shared);
  } catch {
    return undefined;
  }
}

export interface SessionKeys {
  initiatorToResponder: Uint8Array;
  responderToInitiator: Uint8Array;
}

/**
 * HKDF-SHA256 over the X25519 secret, salted with the hash of the whole handshake, one key per
 * direction. Undefined when the peer's ephemeral key gives no usable secret (a low-order point).
 */
export function deriveSessionKeys(
  ephemeralSecret: Uint8Array,
  peerEphemeral: Uint8Array,
  hello: Uint8Array,
  reply: Uint8Array,
  proof: Uint8Array,
): SessionKeys | undefined {
  const shared = x25519SharedSecret(ephemeralSecret, peerEphemeral);
  if (!shared) return undefined;
  const transcript = sha256(concat([LABEL_KEYS, hello, reply, proof]));
  const prk = extract(sha256, shared, transcript);
  return {
    initiatorToResponder: expand(sha256, prk, INFO_I2R, 32),
    responderToInitiator: expand(sha256, prk, INFO_R2I, 32),
  };
}
