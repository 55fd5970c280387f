/**
 * JSON for the overlay's wire (Skywire's RPC bodies are Go `encoding/json`), total and bigint-safe.
 *
 * - `decodeJson` never throws: it returns `{ ok, value }` or `{ ok: false, error }` for any bytes.
 * - Size, nesting depth and number-literal length are bounded, so a hostile body costs at most a
 *   linear scan of its bytes.
 * - An integer literal (no fraction, no exponent) outside ±Number.MAX_SAFE_INTEGER becomes a
 *   `bigint`; everything else is a `number`. The choice is by value, not by field name, so the
 *   parser needs no schema and loses no precision: every integer it returns as a number is exact,
 *   and the typed decoders above (`protocols/overlay/messages.ts`) accept either form for a uint64
 *   field such as `seq` (Skywire's publishers use UnixNano, about 1.7e18 > 2^53).
 * - Objects have a null prototype (a `"__proto__"` key is an ordinary key) and a repeated key is an
 *   error: a signed or checked body must not mean two things to two parsers.
 * - `encodeJson` writes a bigint as a plain JSON integer and skips object fields that are
 *   `undefined` (how optional fields are left out, like Go's `omitempty`).
 */
import { InvalidArgumentError } from '../util/errors.js';

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** What `encodeJson` accepts: JSON values, where an object field may be `undefined` (left out). */
export type JsonEncodable =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly JsonEncodable[]
  | { readonly [key: string]: JsonEncodable | undefined };

export type JsonDecodeResult = { ok: true; value: JsonValue } | { ok: false; error: string };

/** Default largest body: the overlay's 4 MiB frame cap (Skywire's final `readMsg`). */
export const JSON_MAX_BYTES = 4 * 1024 * 1024;
/** Default deepest nesting; the deepest overlay message (PutBatch -> items -> item) needs 4. */
export const JSON_MAX_DEPTH = 32;
/** Longest number literal: a uint64 has 20 digits; longer ones are refused before BigInt parses them. */
export const JSON_MAX_NUMBER_CHARS = 64;

export interface JsonDecodeOptions {
  maxBytes?: number;
  maxDepth?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

class Fail {
  constructor(readonly message: string) {}
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Integer literals of at most this many digits are below 2^53: summed exactly as they are read. */
const SAFE_DIGITS = 15;

const LITERALS: readonly [string, JsonValue][] = [
  ['true', true],
  ['false', false],
  ['null', null],
];

/** Characters JSON forbids unescaped inside a string. */
const CONTROL = /[\u0000-\u001f]/;

class Parser {
  pos = 0;
  /** Position of the next backslash at or after the last string's start (s.length if none). */
  private nextBackslash = -1;
  /**
   * Whether the document holds any control character. Compact JSON (what peers send) holds none,
   * so one native scan of the whole text spares a scan of every string.
   */
  private readonly controls: boolean;
  constructor(
    readonly s: string,
    readonly maxDepth: number,
  ) {
    this.controls = CONTROL.test(s);
  }

  fail(what: string): never {
    throw new Fail(`${what} at character ${this.pos}`);
  }

  failAt(pos: number, what: string): never {
    this.pos = pos;
    return this.fail(what);
  }

  /** Step over `code` if it is the next character. */
  consume(code: number): boolean {
    if (this.s.charCodeAt(this.pos) !== code) return false;
    this.pos++;
    return true;
  }

  ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  value(depth: number): JsonValue {
    this.ws();
    const s = this.s;
    const c = s.charCodeAt(this.pos);
    if (c === QUOTE) return this.string();
    if ((c >= ZERO && c <= NINE) || c === MINUS) return this.number();
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x5b /* [ */) return this.array(depth + 1);
    for (const [word, literal] of LITERALS) {
      if (s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    if (Number.isNaN(c)) this.fail('unexpected end of input');
    return this.fail(`unexpected character ${JSON.stringify(s[this.pos])}`);
  }

  object(depth: number): JsonObject {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const out = Object.create(null) as JsonObject;
    this.ws();
    if (this.consume(0x7d /* } */)) return out;
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.pos) !== QUOTE) this.fail('expected a string key');
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`repeated key ${JSON.stringify(key)}`);
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x3a /* : */) this.fail('expected ":"');
      this.pos++;
      out[key] = this.value(depth);
      this.ws();
      if (this.consume(0x7d)) return out;
      if (!this.consume(0x2c /* , */)) this.fail('expected "," or "}"');
    }
  }

  array(depth: number): JsonValue[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.consume(0x5d /* ] */)) return out;
    const s = this.s;
    // Written for arrays of small numbers (NodeIDs): no whitespace, a digit first, straight to
    // number(); anything else takes the general path.
    for (;;) {
      let c = s.charCodeAt(this.pos);
      out.push(c >= ZERO && c <= NINE ? this.number() : this.value(depth));
      c = s.charCodeAt(this.pos);
      if (c <= 0x20) {
        this.ws();
        c = s.charCodeAt(this.pos);
      }
      if (c === 0x2c /* , */) this.pos++;
      else if (c === 0x5d /* ] */) {
        this.pos++;
        return out;
      } else this.fail('expected "," or "]"');
    }
  }

  string(): string {
    const s = this.s;
    const start = ++this.pos;
    // Fast path, the common case for keys, hex and base64: no backslash before the closing quote.
    // indexOf is native; the next backslash's position is cached (it only moves forward), so a
    // document without escapes is scanned for one once, not once per string.
    const end = s.indexOf('"', start);
    if (end < 0) this.fail('unterminated string');
    if (this.nextBackslash < start) {
      const b = s.indexOf('\\', start);
      this.nextBackslash = b < 0 ? s.length : b;
    }
    if (this.nextBackslash > end) {
      const out = s.slice(start, end);
      if (this.controls && CONTROL.test(out)) this.fail('control character in string');
      this.pos = end + 1;
      return out;
    }
    let p = this.nextBackslash;
    if (this.controls && CONTROL.test(s.slice(start, p))) this.fail('control character in string');
    let out = s.slice(start, p);
    for (;;) {
      const c = s.charCodeAt(p);
      if (Number.isNaN(c)) this.failAt(p, 'unterminated string');
      if (c === QUOTE) {
        this.pos = p + 1;
        return out;
      }
      if (c < 0x20) this.failAt(p, 'control character in string');
      if (c !== BACKSLASH) {
        const next = nextSpecial(s, p);
        out += s.slice(p, next);
        p = next;
        continue;
      }
      const e = s[p + 1];
      p += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = s.slice(p, p + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.failAt(p, 'bad \\u escape');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          p += 4;
          break;
        }
        default:
          this.pos = p - 1;
          this.fail('bad escape');
      }
    }
  }

  number(): number | bigint {
    const s = this.s;
    const start = this.pos;
    let p = start;
    const negative = s.charCodeAt(p) === MINUS;
    if (negative) p++;
    const intStart = p;
    // Digits are summed as they are read: exact up to SAFE_DIGITS, and several times cheaper than
    // slicing the literal and calling Number() (a FindNode reply holds 640 of them, NodeID bytes).
    let n = 0;
    for (;;) {
      const c = s.charCodeAt(p);
      if (!(c >= ZERO && c <= NINE)) break; // NaN past the end stops it too
      n = n * 10 + (c - ZERO);
      p++;
    }
    if (p === intStart) this.failAt(p, 'expected a digit');
    if (s.charCodeAt(intStart) === ZERO && p - intStart > 1) this.failAt(intStart, 'leading zero');
    const next = s.charCodeAt(p);
    if (p - intStart <= SAFE_DIGITS && next !== 0x2e && next !== 0x65 && next !== 0x45) {
      this.pos = p;
      return negative ? -n : n;
    }
    let integer = true;
    if (next === 0x2e /* . */) {
      integer = false;
      const f = ++p;
      p = digits(s, p);
      if (p === f) this.failAt(p, 'expected a digit after "."');
    }
    const e = s.charCodeAt(p);
    if (e === 0x65 || e === 0x45 /* e E */) {
      integer = false;
      p++;
      const sign = s.charCodeAt(p);
      if (sign === 0x2b || sign === MINUS) p++;
      const x = p;
      p = digits(s, p);
      if (p === x) this.failAt(p, 'expected a digit in the exponent');
    }
    if (p - start > JSON_MAX_NUMBER_CHARS)
      this.fail(`number longer than ${JSON_MAX_NUMBER_CHARS} characters`);
    this.pos = p;
    const text = s.slice(start, p);
    const value = Number(text);
    if (integer) return Number.isSafeInteger(value) ? value : BigInt(text);
    if (!Number.isFinite(value)) this.failAt(start, 'number out of range');
    return value;
  }
}

function digits(s: string, p: number): number {
  for (;;) {
    const c = s.charCodeAt(p);
    if (c >= ZERO && c <= NINE) p++;
    else return p;
  }
}

/** Index of the next quote, backslash or control character at or after p (s.length if none). */
function nextSpecial(s: string, p: number): number {
  for (;;) {
    const c = s.charCodeAt(p);
    if (c === QUOTE || c === BACKSLASH || c < 0x20 || Number.isNaN(c)) return p;
    p++;
  }
}

/** Parse one JSON document from UTF-8 bytes (or a string). Never throws. */
export function decodeJson(input: Uint8Array | string, options: JsonDecodeOptions = {}): JsonDecodeResult {
  const maxBytes = options.maxBytes ?? JSON_MAX_BYTES;
  const maxDepth = options.maxDepth ?? JSON_MAX_DEPTH;
  let text: string;
  if (typeof input === 'string') {
    // A UTF-16 unit is at most 3 UTF-8 bytes; measure exactly only when the cheap bound is exceeded.
    if (input.length * 3 > maxBytes && Buffer.byteLength(input, 'utf8') > maxBytes) {
      return { ok: false, error: `JSON larger than ${maxBytes} bytes` };
    }
    text = input;
  } else {
    if (input.length > maxBytes) return { ok: false, error: `JSON larger than ${maxBytes} bytes` };
    try {
      text = utf8.decode(input);
    } catch {
      return { ok: false, error: 'JSON is not valid UTF-8' };
    }
  }
  const parser = new Parser(text, maxDepth);
  try {
    const value = parser.value(0);
    parser.ws();
    if (parser.pos !== text.length) parser.fail('trailing characters after the JSON value');
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Fail) return { ok: false, error: err.message };
    // Anything else (a RangeError from an engine limit) is still a refusal, never a throw.
    return { ok: false, error: `JSON could not be parsed: ${(err as Error).message}` };
  }
}

/** JSON text for a value; bigint as an integer, `undefined` object fields left out. */
export function stringifyJson(value: JsonEncodable): string {
  if (value === undefined) throw new InvalidArgumentError('cannot encode undefined as JSON');
  return write(value);
}

/**
 * UTF-8 JSON bytes through the engine's JSON.stringify, several times faster than `encodeJson`,
 * for values the caller built from strings, booleans and byte-sized integers only (FindNode
 * replies: 20 peers with ids as arrays of 32 numbers). No bigint, no non-finite number.
 */
export function encodePlainJson(value: JsonEncodable): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(value));
}

/** UTF-8 JSON bytes for a value (see `stringifyJson`). */
export function encodeJson(value: JsonEncodable): Uint8Array {
  return utf8Encoder.encode(stringifyJson(value));
}

/** A string built by concatenation: V8 keeps it as a rope and flattens it once, on encode. */
function write(value: JsonEncodable | undefined): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`cannot encode ${value} as JSON`);
      return String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null'; // inside an array, as JSON.stringify does
    default:
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return writeArray(value as readonly JsonEncodable[]);
  let out = '{';
  const obj = value as { readonly [key: string]: JsonEncodable | undefined };
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined || !Object.hasOwn(obj, key)) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${write(v)}`;
  }
  return `${out}}`;
}

function writeArray(value: readonly JsonEncodable[]): string {
  // Byte arrays (NodeIDs) are arrays of small integers: one join instead of 32 calls.
  if (value.every((e) => typeof e === 'number' && Number.isFinite(e))) return `[${value.join(',')}]`;
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    out += write(value[i]);
  }
  return `${out}]`;
}
