/**
 * Go's JSON, as Skywire's discovery services write it, and the field readers the discovery
 * decoders share.
 *
 * A dmsg Entry is signed over the bytes Go's encoder produces for the decoded struct (spec §5.2),
 * so a verifier must produce those bytes again: struct field order, `omitempty`, no whitespace,
 * integers in decimal. Strings follow jsoniter's ConfigFastest (HTML escaping off): `"` and `\`
 * and \n \r \t get short escapes, other control characters \u00XX in lowercase hex, everything
 * else (U+2028 included) is written as it is.
 *
 * Readers throw `FieldError` naming the field; each decoder catches it at its boundary, so a
 * decode never throws.
 */
import { fromHex } from '../../util/bytes.js';
import type { JsonObject, JsonValue } from '../../wire/json.js';
import { FieldError } from '../overlay/fields.js';

export { FieldError };

const HEX_DIGITS = '0123456789abcdef';

/** A Go string literal as jsoniter ConfigFastest writes it. */
export function goString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    start = i + 1;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else out += `\\u00${HEX_DIGITS[c >> 4]}${HEX_DIGITS[c & 15]}`;
  }
  return `${out + s.slice(start)}"`;
}

export function object(v: JsonValue | undefined, field: string): JsonObject {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
    throw new FieldError(field, 'must be a JSON object');
  }
  return v as JsonObject;
}

/** Refuse fields the struct does not have: they would be dropped before a signature is checked. */
export function onlyKeys(obj: JsonObject, allowed: readonly string[], field: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new FieldError(field ? `${field}.${key}` : key, `is not a field of this record`);
    }
  }
}

export function string(v: JsonValue | undefined, field: string, maxChars: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new FieldError(field, 'must be a string');
  if (v.length > maxChars) throw new FieldError(field, `must be at most ${maxChars} characters`);
  return v;
}

export function bool(v: JsonValue | undefined, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new FieldError(field, 'must be true or false');
  return v;
}

/** An integer in [min, max], given as a JSON number or (past 2^53) a bigint. */
export function integer(v: JsonValue | undefined, field: string, min: bigint, max: bigint): bigint {
  if (v === undefined || v === null) return 0n;
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else throw new FieldError(field, 'must be an integer');
  if (n < min || n > max) throw new FieldError(field, `must be from ${min} to ${max}`);
  return n;
}

/** Fixed-length bytes in hex (PubKey: 33, Sig: 65); lowercase or uppercase accepted. */
export function hexBytes(v: JsonValue | undefined, field: string, length: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== length * 2) {
    throw new FieldError(field, `must be ${length * 2} hex characters`);
  }
  const out = fromHex(v);
  if (!out) throw new FieldError(field, `must be ${length * 2} hex characters`);
  return out;
}

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;
export const INT32_MAX = (1n << 31n) - 1n;
