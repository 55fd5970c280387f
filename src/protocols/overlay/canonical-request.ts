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
const ID_KEY = encoder.encode('{"sender_id":[');
const PK_KEY = encoder.encode('],"sender_pk":"');
const PORT_KEY = encoder.encode(',"sender_port":');
const QUOTE = 0x22;
/** Lowercase hex digit codes by nibble. */
const HEX_CODES = encoder.encode('0123456789abcdef');
const TARGET_KEY = encoder.encode(',"target":[');
const ZERO = 0x30;
const NINE = 0x39;
const COMMA = 0x2c;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const MAX_PORT = 65_535;

/** A connection's proven key and its id: what its requests must start with. Nothing else is kept. */
export interface ProvenSender {
  readonly id: NodeId;
  readonly publicKey: Uint8Array;
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
  if (!startsWith(json, ID_KEY, 0)) return -1;
  let p = ID_KEY.length;
  const id = sender.id;
  for (let i = 0; i < id.length; i++) {
    if (i > 0) {
      if (json[p] !== COMMA) return -1;
      p++;
    }
    const end = digitsEnd(json, p);
    if (canonicalInteger(json, p, end, 255) !== id[i]) return -1;
    p = end;
  }
  if (!startsWith(json, PK_KEY, p)) return -1;
  p += PK_KEY.length;
  const key = sender.publicKey;
  if (json.length - p < key.length * 2 + 1) return -1;
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    if (json[p] !== HEX_CODES[b >> 4] || json[p + 1] !== HEX_CODES[b & 15]) return -1;
    p += 2;
  }
  return json[p] === QUOTE ? p + 1 : -1;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (bytes.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

function digitsEnd(bytes: Uint8Array, p: number): number {
  while (p < bytes.length && (bytes[p] as number) >= ZERO && (bytes[p] as number) <= NINE) p++;
  return p;
}

/** The integer in bytes[start, end) when canonical (no leading zero) and at most max. */
function canonicalInteger(bytes: Uint8Array, start: number, end: number, max: number): number | undefined {
  const length = end - start;
  if (length === 0 || length > 5 || (length > 1 && bytes[start] === ZERO)) return undefined;
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + ((bytes[i] as number) - ZERO);
  return n <= max ? n : undefined;
}
