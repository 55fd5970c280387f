/**
 * The JSON encodings of Skywire's field types (spec §1.3), both ways: NodeID as an array of 32
 * numbers 0-255 (Go encodes a [32]byte with no MarshalText that way), PubKey and Sig as hex,
 * []byte as standard base64 with padding, uint64 as an integer kept as bigint, time.Time as RFC
 * 3339. Readers throw `FieldError` naming the field; `messages.ts` catches it at its boundary, so
 * nothing escapes a decode.
 */
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import { toHex } from '../../util/bytes.js';
import type { JsonEncodable, JsonObject, JsonValue } from '../../wire/json.js';
import { OVERLAY_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './constants.js';
import { MAX_SEQ, type MutableItem } from './item.js';

/** Longest free-text string (error texts) a message may carry. */
export const MAX_TEXT_CHARS = 4096;

export class FieldError {
  constructor(
    readonly field: string,
    readonly message: string,
  ) {}
}

export function object(v: JsonValue | undefined, field: string): JsonObject {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
    throw new FieldError(field, 'must be a JSON object');
  }
  return v as JsonObject;
}

export function nodeId(v: JsonValue | undefined, field: string): NodeId {
  if (!Array.isArray(v) || v.length !== OVERLAY_ID_BYTES) {
    throw new FieldError(field, `must be an array of ${OVERLAY_ID_BYTES} numbers 0-255 (a NodeID)`);
  }
  const out = new Uint8Array(OVERLAY_ID_BYTES);
  for (let i = 0; i < OVERLAY_ID_BYTES; i++) {
    const b = v[i];
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
      throw new FieldError(field, `element ${i} must be an integer 0-255`);
    }
    out[i] = b;
  }
  return asNodeId(out);
}

/** A NodeID that Go sends as 32 zeros when unset (`mirror_target`): all zeros reads as absent. */
export function optionalNodeId(v: JsonValue | undefined, field: string): NodeId | undefined {
  if (v === undefined || v === null) return undefined;
  const id = nodeId(v, field);
  return id.every((b) => b === 0) ? undefined : id;
}

export function encodeNodeId(id: Uint8Array): number[] {
  // A plain loop: Array.from on a typed array costs several times more, and a FindNode reply
  // encodes 20 of these.
  const out = new Array<number>(id.length);
  for (let i = 0; i < id.length; i++) out[i] = id[i] as number;
  return out;
}

/** Value of a hex digit by character code, -1 for anything else. */
const HEX_VALUE = Int8Array.from({ length: 128 }, (_, c) => {
  const ch = String.fromCharCode(c);
  return /[0-9a-fA-F]/.test(ch) ? Number.parseInt(ch, 16) : -1;
});

function hexBytes(v: JsonValue | undefined, field: string, bytes: number, what: string): Uint8Array {
  // Decoded and checked in one pass into a fresh array: every request carries a 33-byte key, and a
  // regex test, Buffer's decoder and a copy out of its pool cost several times this.
  const out = typeof v === 'string' && v.length === bytes * 2 ? new Uint8Array(bytes) : undefined;
  if (out !== undefined) {
    const s = v as string;
    let bad = 0;
    for (let i = 0; i < bytes; i++) {
      const hi = HEX_VALUE[s.charCodeAt(2 * i)] ?? -1;
      const lo = HEX_VALUE[s.charCodeAt(2 * i + 1)] ?? -1;
      bad |= hi | lo; // -1 sets the sign bit
      out[i] = (hi << 4) | lo;
    }
    if (bad >= 0) return out;
  }
  throw new FieldError(field, `must be ${bytes * 2} hex characters (${what})`);
}

export const publicKey = (v: JsonValue | undefined, field: string): Uint8Array =>
  hexBytes(v, field, PUBLIC_KEY_BYTES, 'a compressed secp256k1 public key');

export const signature = (v: JsonValue | undefined, field: string): Uint8Array =>
  hexBytes(v, field, SIGNATURE_BYTES, 'a signature r || s || recid');

export const encodeHex = toHex;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 with padding, canonical (what Go writes); `null` is Go's nil slice, read as empty. */
export function base64Bytes(v: JsonValue | undefined, field: string): Uint8Array {
  if (v === null) return new Uint8Array(0);
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) {
    throw new FieldError(field, 'must be standard base64 with padding');
  }
  const bytes = Buffer.from(v, 'base64');
  // Buffer ignores stray padding and non-zero trailing bits; re-encoding catches both.
  if (bytes.toString('base64') !== v) throw new FieldError(field, 'must be canonical standard base64');
  return new Uint8Array(bytes); // a copy, out of Buffer's shared pool
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** A uint64: a JSON integer, which the parser hands over as a number or (beyond 2^53) a bigint. */
export function uint64(v: JsonValue | undefined, field: string): bigint {
  let n: bigint | undefined;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  if (n === undefined || n < 0n || n > MAX_SEQ) throw new FieldError(field, 'must be an integer 0 to 2^64-1');
  return n;
}

export function integer(v: JsonValue | undefined, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FieldError(field, `must be an integer ${min} to ${max}`);
  }
  return v;
}

export function boolean(v: JsonValue | undefined, field: string): boolean {
  if (typeof v !== 'boolean') throw new FieldError(field, 'must be true or false');
  return v;
}

export function text(v: JsonValue | undefined, field: string, maxChars = MAX_TEXT_CHARS): string {
  if (typeof v !== 'string' || v.length > maxChars) {
    throw new FieldError(field, `must be a string of at most ${maxChars} characters`);
  }
  return v;
}

/** A JSON array of at most `max` entries; `null` (Go's nil slice) reads as empty. */
export function list<T>(
  v: JsonValue | undefined,
  field: string,
  max: number,
  read: (e: JsonValue, field: string) => T,
): T[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw new FieldError(field, 'must be an array');
  if (v.length > max) throw new FieldError(field, `has ${v.length} entries, at most ${max}`);
  return v.map((e, i) => read(e, `${field}[${i}]`));
}

export const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 timestamp (Go's time.Time), kept as its text. */
export function timestamp(v: JsonValue | undefined, field: string): string {
  if (typeof v !== 'string' || !RFC3339.test(v)) throw new FieldError(field, 'must be an RFC 3339 timestamp');
  return v;
}

/** RFC 3339 text for a time in ms since the epoch, as Go writes it (UTC, "Z"). */
export function timestampFromMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined if it names no instant. */
export function timestampToMs(text: string): number | undefined {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Skywire's MutableItem JSON: {"k","seq","sig","v","salt"?}. */
export function item(v: JsonValue | undefined, field: string): MutableItem {
  const o = object(v, field);
  return {
    k: publicKey(o.k, `${field}.k`),
    seq: uint64(o.seq, `${field}.seq`),
    sig: signature(o.sig, `${field}.sig`),
    v: base64Bytes(o.v, `${field}.v`),
    salt: o.salt === undefined ? new Uint8Array(0) : base64Bytes(o.salt, `${field}.salt`),
  };
}

export function encodeItem(item: MutableItem): JsonEncodable {
  return {
    k: toHex(item.k),
    seq: item.seq,
    sig: toHex(item.sig),
    v: encodeBase64(item.v),
    // Go: `json:"salt,omitempty"`.
    salt: item.salt.length > 0 ? encodeBase64(item.salt) : undefined,
  };
}
