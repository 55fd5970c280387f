/**
 * Bencode (BEP 3) over Uint8Array, written for the hot path of a DHT node.
 *
 * - Byte strings stay bytes: decoding returns zero-copy views into the input, never lossy text.
 * - Dictionary keys become one-char-per-byte strings (lossless), so dicts are plain objects.
 * - Decoding is total: `decode` returns a result and never throws, whatever the input.
 * - Encoding writes into one reused scratch buffer and returns an exact-size copy (carved from a
 *   slab when the caller says the bytes are only for sending).
 */
import { bytesToBinaryString } from '../util/bytes.js';
import type { Slab } from '../util/slab.js';

export type BValue = number | Uint8Array | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue | undefined;
}

export type DecodeResult = { ok: true; value: BValue } | { ok: false; error: string };

/** Deepest nesting we accept; KRPC needs 3-4 levels, BEP 44 values a few more. */
export const MAX_DEPTH = 32;

const I = 0x69; // 'i'
const L = 0x6c; // 'l'
const D = 0x64; // 'd'
const E = 0x65; // 'e'
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

class Fail {
  constructor(readonly message: string) {}
}

class Decoder {
  pos = 0;
  /** The input's buffer and offset, so byte strings are built as views without `subarray`. */
  private readonly arrayBuffer: ArrayBufferLike;
  private readonly base: number;

  constructor(readonly buf: Uint8Array) {
    this.arrayBuffer = buf.buffer;
    this.base = buf.byteOffset;
  }

  value(depth: number): BValue {
    const c = this.buf[this.pos];
    if (c === undefined) throw new Fail(`unexpected end of input at ${this.pos}`);
    if (c >= ZERO && c <= NINE) return this.bytes();
    if (c === I) return this.int();
    if (depth >= MAX_DEPTH) throw new Fail(`nesting deeper than ${MAX_DEPTH}`);
    if (c === L) return this.list(depth + 1);
    if (c === D) return this.dict(depth + 1);
    throw new Fail(`unexpected byte 0x${c.toString(16)} at ${this.pos}`);
  }

  /** A length prefix; returns the start offset of the string's bytes and advances past them. */
  stringSpan(): number {
    const buf = this.buf;
    let len = 0;
    let digits = 0;
    let c = buf[this.pos];
    while (c !== undefined && c >= ZERO && c <= NINE) {
      len = len * 10 + (c - ZERO);
      digits++;
      if (digits > 9) throw new Fail('string length too large');
      c = buf[++this.pos];
    }
    if (c !== COLON || digits === 0) throw new Fail(`bad string length at ${this.pos}`);
    const start = ++this.pos;
    const end = start + len;
    if (end > buf.length) throw new Fail('string runs past end of input');
    this.pos = end;
    return start;
  }

  bytes(): Uint8Array {
    const start = this.stringSpan();
    // A plain view costs about half of `subarray`, which looks up a species constructor and
    // would also hand back a Buffer for Buffer input.
    return new Uint8Array(this.arrayBuffer, this.base + start, this.pos - start);
  }

  int(): number {
    const buf = this.buf;
    let p = this.pos + 1;
    let negative = false;
    if (buf[p] === MINUS) {
      negative = true;
      p++;
    }
    let n = 0;
    let digits = 0;
    let c = buf[p];
    while (c !== undefined && c >= ZERO && c <= NINE) {
      n = n * 10 + (c - ZERO);
      digits++;
      c = buf[++p];
    }
    if (c !== E || digits === 0) throw new Fail(`bad integer at ${this.pos}`);
    if (!Number.isSafeInteger(n)) throw new Fail('integer out of safe range');
    this.pos = p + 1;
    return negative ? -n : n;
  }

  list(depth: number): BValue[] {
    this.pos++;
    const out: BValue[] = [];
    while (this.buf[this.pos] !== E) {
      if (this.pos >= this.buf.length) throw new Fail('unterminated list');
      out.push(this.value(depth));
    }
    this.pos++;
    return out;
  }

  dict(depth: number): BDict {
    this.pos++;
    const out: BDict = {};
    while (this.buf[this.pos] !== E) {
      if (this.pos >= this.buf.length) throw new Fail('unterminated dictionary');
      const c = this.buf[this.pos] as number;
      if (c < ZERO || c > NINE) throw new Fail(`dictionary key is not a string at ${this.pos}`);
      const start = this.stringSpan();
      const key = keyString(this.buf, start, this.pos);
      const value = this.value(depth);
      // A key that would reach the prototype is dropped, never assigned.
      if (key !== '__proto__') out[key] = value;
    }
    this.pos++;
    return out;
  }
}

/**
 * Dictionary keys decoded lately, in slots chosen by a hash of their bytes. KRPC uses a few dozen
 * keys over and over; building each from its bytes again costs a string per character appended
 * (a rope the engine flattens when the key is used), and is most of the garbage a decoded query
 * leaves. A hit costs a hash and a compare. Bounded: unknown keys only replace one another.
 */
const KEY_SLOTS = 256;
const KEY_CACHE_MAX = 16;
const keyCache: string[] = new Array<string>(KEY_SLOTS).fill('');

function keyString(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  // One-char strings come from the engine's own table; long keys are rare.
  if (n <= 1 || n > KEY_CACHE_MAX) return bytesToBinaryString(buf, start, end);
  let h = n;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
  const slot = (h ^ (h >>> 16)) & (KEY_SLOTS - 1);
  const cached = keyCache[slot] as string;
  if (cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return cached;
  }
  const key = bytesToBinaryString(buf, start, end);
  keyCache[slot] = key;
  return key;
}

/** Decode exactly one bencoded value filling the whole input. Never throws. */
export function decode(input: Uint8Array): DecodeResult {
  const decoder = new Decoder(input);
  try {
    const value = decoder.value(0);
    if (decoder.pos !== input.length)
      return { ok: false, error: `trailing bytes after offset ${decoder.pos}` };
    return { ok: true, value };
  } catch (err) {
    if (err instanceof Fail) return { ok: false, error: err.message };
    // Only a bug can land here (e.g. stack exhaustion); still never throw into the caller.
    return { ok: false, error: `decoder failure: ${String(err)}` };
  }
}

/** Start and end offsets of the raw encoding of dict[key] in `input`, for signature checks over original bytes. */
export function rawSpanOfKey(input: Uint8Array, path: readonly string[]): [number, number] | undefined {
  const decoder = new Decoder(input);
  try {
    for (const key of path) {
      if (input[decoder.pos] !== D) return undefined;
      decoder.pos++;
      let found = false;
      while (input[decoder.pos] !== E && decoder.pos < input.length) {
        const start = decoder.stringSpan();
        const k = bytesToBinaryString(input, start, decoder.pos);
        if (k === key) {
          found = true;
          break;
        }
        decoder.value(0);
      }
      if (!found) return undefined;
    }
    const start = decoder.pos;
    decoder.value(0);
    return [start, decoder.pos];
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

let scratch = new Uint8Array(64 * 1024);
let at = 0;

function ensure(extra: number): void {
  if (at + extra <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < at + extra) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(scratch.subarray(0, at));
  scratch = bigger;
}

function writeAscii(text: string): void {
  ensure(text.length);
  for (let i = 0; i < text.length; i++) scratch[at++] = text.charCodeAt(i);
}

/** Decimal digits of a non-negative integer, written without building a string. */
function writeUint(n: number): void {
  if (n < 10) {
    scratch[at++] = ZERO + n;
    return;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = at + digits;
  at = p;
  for (let x = n; p > at - digits; x = Math.floor(x / 10)) scratch[--p] = ZERO + (x % 10);
}

function writeLength(n: number): void {
  ensure(17);
  writeUint(n);
  scratch[at++] = COLON;
}

function writeBytes(b: Uint8Array): void {
  const n = b.length;
  ensure(n + 17);
  writeUint(n);
  scratch[at++] = COLON;
  // TypedArray.set has a fixed cost that dominates for ids, tokens and compact peers.
  if (n <= 32) {
    for (let i = 0; i < n; i++) scratch[at + i] = b[i] as number;
  } else {
    scratch.set(b, at);
  }
  at += n;
}

function writeKey(key: string): void {
  writeLength(key.length);
  ensure(key.length);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0xff) throw new TypeError(`dictionary key ${JSON.stringify(key)} is not a byte string`);
    scratch[at++] = c;
  }
}

function writeValue(value: BValue, depth: number): void {
  if (value instanceof Uint8Array) {
    writeBytes(value);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new TypeError(`bencode integers must be safe integers, got ${value}`);
    ensure(1);
    scratch[at++] = I;
    writeAscii(String(value));
    ensure(1);
    scratch[at++] = E;
  } else if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) throw new TypeError('value nested too deeply to encode');
    ensure(1);
    scratch[at++] = L;
    for (const item of value) writeValue(item, depth + 1);
    ensure(1);
    scratch[at++] = E;
  } else if (typeof value === 'object' && value !== null) {
    if (depth >= MAX_DEPTH) throw new TypeError('value nested too deeply to encode');
    ensure(1);
    scratch[at++] = D;
    const keys = Object.keys(value);
    // Most dicts we build are already sorted; check before paying for a sort.
    for (let i = 1; i < keys.length; i++) {
      if ((keys[i - 1] as string) > (keys[i] as string)) {
        keys.sort();
        break;
      }
    }
    for (const key of keys) {
      const v = value[key];
      if (v === undefined) continue;
      writeKey(key);
      writeValue(v, depth + 1);
    }
    ensure(1);
    scratch[at++] = E;
  } else {
    throw new TypeError(`cannot bencode a value of type ${typeof value}`);
  }
}

/**
 * Bencode a value. Throws TypeError only for values our own code built wrong (floats, bad keys).
 * With a slab the output is carved from it: for bytes that are sent and dropped (util/slab.ts).
 */
export function encode(value: BValue, slab?: Slab): Uint8Array {
  at = 0;
  writeValue(value, 0);
  if (!slab) return scratch.slice(0, at);
  const out = slab.take(at);
  out.set(scratch.subarray(0, at));
  return out;
}

/** Bytes for a text, for building values from literals (method names, keys inside values). */
export function text(s: string): Uint8Array {
  return Buffer.from(s, 'utf8');
}
