/**
 * Ping, FindNode and GetValue requests recognised in their canonical form, byte for byte, from the
 * sender a connection proved: `{"sender_id":[..],"sender_pk":"<lowercase hex>"` (what
 * `encodeRequest` and Go's encoding/json write), then an optional `,"sender_port":N`, then `}` or
 * `,"target":[32 numbers]}`, with no whitespace.
 *
 * Why: every request starts with the same ~200 bytes for a given connection, and the server only
 * needs them to be exactly the proven key and its id. Comparing them costs a tenth of parsing them
 * into a tree and decoding the hex and the array. Anything else (other spacing, field order,
 * escapes, duplicate keys, another sender) is not matched and takes the total decoder in
 * messages.ts, which answers it as before; what this returns is what `decodeRequest` returns for
 * the same bytes (the tests check both on mutated inputs).
 */
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import { OVERLAY_ID_BYTES } from './constants.js';
import type { FindNodeRequest, GetValueRequest, PingRequest } from './messages.js';

const encoder = new TextEncoder();
const PORT_KEY = encoder.encode(',"sender_port":');
/** Lowercase hex digit codes by nibble. */
const HEX_CODES = encoder.encode('0123456789abcdef');
const TARGET_KEY = encoder.encode(',"target":[');
export const ZERO = 0x30;
export const NINE = 0x39;
export const COMMA = 0x2c;
export const CLOSE_ARRAY = 0x5d;
export const CLOSE_OBJECT = 0x7d;
const MAX_PORT = 65_535;

/** A connection's proven key and its id, and the canonical bytes its requests must start with. */
export interface ProvenSender {
  readonly id: NodeId;
  readonly publicKey: Uint8Array;
  /** `{"sender_id":[..],"sender_pk":"<lowercase hex>"`: one comparison instead of a parse. */
  readonly prefix: Uint8Array;
}

/** The sender a connection proved, with its canonical prefix written once. */
export function provenSender(id: NodeId, publicKey: Uint8Array): ProvenSender {
  let hex = '';
  for (const b of publicKey)
    hex += String.fromCharCode(HEX_CODES[b >> 4] as number, HEX_CODES[b & 15] as number);
  const prefix = encoder.encode(`{"sender_id":[${id.join(',')}],"sender_pk":"${hex}"`);
  return { id, publicKey, prefix };
}

export type CanonicalRequest = PingRequest | FindNodeRequest | GetValueRequest;

/** The request when `json` is its canonical form from this sender, else undefined. Never throws. */
export function decodeCanonicalRequest(
  tag: number,
  json: Uint8Array,
  sender: ProvenSender,
): CanonicalRequest | undefined {
  if (tag < 1 || tag > 3) return undefined;
  let p = senderEnd(json, sender);
  if (p < 0) return undefined;
  let senderPort: number | undefined;
  if (startsWith(json, PORT_KEY, p)) {
    const end = digitsEnd(json, p + PORT_KEY.length);
    senderPort = canonicalInteger(json, p + PORT_KEY.length, end, MAX_PORT);
    if (senderPort === undefined || senderPort === 0) return undefined;
    p = end;
  }
  const base = {
    senderId: sender.id,
    senderPk: sender.publicKey,
    ...(senderPort === undefined ? {} : { senderPort }),
  };
  if (tag === 1) {
    return p === json.length - 1 && json[p] === CLOSE_OBJECT ? { method: 'ping', ...base } : undefined;
  }
  if (!startsWith(json, TARGET_KEY, p)) return undefined;
  p += TARGET_KEY.length;
  const target = new Uint8Array(OVERLAY_ID_BYTES);
  for (let i = 0; i < OVERLAY_ID_BYTES; i++) {
    const end = digitsEnd(json, p);
    const b = canonicalInteger(json, p, end, 255);
    if (b === undefined) return undefined;
    target[i] = b;
    const next = json[end];
    if (next !== (i === OVERLAY_ID_BYTES - 1 ? CLOSE_ARRAY : COMMA)) return undefined;
    p = end + 1;
  }
  if (p !== json.length - 1 || json[p] !== CLOSE_OBJECT) return undefined;
  return { method: tag === 2 ? 'find_node' : 'get_value', ...base, target: asNodeId(target) };
}

/** Where the canonical sender fields end, or -1 when they are not exactly this sender's. */
function senderEnd(json: Uint8Array, sender: ProvenSender): number {
  return startsWith(json, sender.prefix, 0) ? sender.prefix.length : -1;
}

/** Whether `prefix` stands in `bytes` at `at` (shared with canonical-peers.ts). */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (bytes.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

export function digitsEnd(bytes: Uint8Array, p: number): number {
  while (p < bytes.length && (bytes[p] as number) >= ZERO && (bytes[p] as number) <= NINE) p++;
  return p;
}

/** The integer in bytes[start, end) when canonical (no leading zero) and at most max. */
export function canonicalInteger(
  bytes: Uint8Array,
  start: number,
  end: number,
  max: number,
): number | undefined {
  const length = end - start;
  if (length === 0 || length > 5 || (length > 1 && bytes[start] === ZERO)) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + ((bytes[i] as number) - ZERO);
  return n <= max ? n : undefined;
}
