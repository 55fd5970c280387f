/**
 * KRPC envelopes (BEP 5): queries, responses and errors over bencode. This layer knows the envelope
 * keys (t, y, q, a, r, e) and the optional top-level extras other BEPs add (v client version,
 * ip from BEP 42, ro from BEP 43); the meaning of each method's arguments belongs to the protocol.
 */
import { bytesToBinaryString } from '../util/bytes.js';
import { Slab } from '../util/slab.js';
import { type BDict, type BValue, decode, encode } from './bencode.js';

/** BEP 5 error codes, plus those BEP 44 defines. */
export const KrpcErrorCode = {
  Generic: 201,
  Server: 202,
  Protocol: 203,
  MethodUnknown: 204,
  ValueTooBig: 205,
  InvalidSignature: 206,
  SaltTooBig: 207,
  CasMismatch: 301,
  SeqTooLow: 302,
} as const;

interface Envelope {
  /** Transaction id, as sent. */
  t: Uint8Array;
  /** Client version string, when present. */
  v?: Uint8Array;
}

export interface KrpcQuery extends Envelope {
  y: 'q';
  q: string;
  a: BDict;
  /** BEP 43: the sender is read-only and must not be added to routing tables. */
  ro: boolean;
}

export interface KrpcResponse extends Envelope {
  y: 'r';
  r: BDict;
  /** BEP 42: our address as the responder saw it (compact). */
  ip?: Uint8Array;
}

export interface KrpcError extends Envelope {
  y: 'e';
  code: number;
  message: string;
}

export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcError;

export type KrpcDecodeResult =
  | { ok: true; message: KrpcMessage }
  | {
      ok: false;
      error: string;
      /** The transaction id, when one could be read, so an error reply can echo it. */
      t?: Uint8Array;
      /** True when the bytes were a bencoded dict: the sender speaks KRPC and deserves a 203 reply. */
      replyable: boolean;
    };

const isDict = (v: BValue | undefined): v is BDict =>
  typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decode a datagram into a typed KRPC message. Never throws. */
export function decodeKrpc(data: Uint8Array): KrpcDecodeResult {
  const decoded = decode(data);
  if (!decoded.ok) return { ok: false, error: `invalid bencoding: ${decoded.error}`, replyable: false };
  const m = decoded.value;
  if (!isDict(m)) return { ok: false, error: 'message is not a dictionary', replyable: false };
  const t = m.t instanceof Uint8Array ? m.t : undefined;
  const fail = (error: string): KrpcDecodeResult =>
    t ? { ok: false, error, t, replyable: true } : { ok: false, error, replyable: true };
  if (!t) return fail('missing transaction id "t"');
  const v = m.v instanceof Uint8Array ? m.v : undefined;
  const y = m.y instanceof Uint8Array && m.y.length === 1 ? m.y[0] : undefined;
  switch (y) {
    case 0x71: {
      // 'q'
      if (!(m.q instanceof Uint8Array)) return fail('query without method name "q"');
      if (!isDict(m.a)) return fail('query without argument dictionary "a"');
      const message: KrpcQuery = { y: 'q', t, q: bytesToBinaryString(m.q), a: m.a, ro: m.ro === 1 };
      if (v) message.v = v;
      return { ok: true, message };
    }
    case 0x72: {
      // 'r'
      if (!isDict(m.r)) return fail('response without dictionary "r"');
      const message: KrpcResponse = { y: 'r', t, r: m.r };
      if (v) message.v = v;
      if (m.ip instanceof Uint8Array) message.ip = m.ip;
      return { ok: true, message };
    }
    case 0x65: {
      // 'e'
      const e = m.e;
      if (!Array.isArray(e) || typeof e[0] !== 'number')
        return fail('error without [code, message] list "e"');
      const text = e[1] instanceof Uint8Array ? utf8.decode(e[1]) : '';
      const message: KrpcError = { y: 'e', t, code: e[0], message: text };
      if (v) message.v = v;
      return { ok: true, message };
    }
    default:
      return fail('missing or unknown message type "y"');
  }
}

const Y_Q = new Uint8Array([0x71]);
const Y_R = new Uint8Array([0x72]);
const Y_E = new Uint8Array([0x65]);
const textEncoder = new TextEncoder();
const methodBytes = new Map<string, Uint8Array>();

function methodName(q: string): Uint8Array {
  let b = methodBytes.get(q);
  if (!b) {
    b = textEncoder.encode(q);
    if (methodBytes.size < 64) methodBytes.set(q, b);
  }
  return b;
}

export interface EnvelopeExtras {
  v?: Uint8Array | undefined;
  ro?: boolean | undefined;
  ip?: Uint8Array | undefined;
}

/**
 * Everything we send is carved from slabs (util/slab.ts) instead of each datagram taking an
 * ArrayBuffer of its own. Replies and errors are sent once and dropped. A query's bytes are kept
 * until its transaction ends (seconds, for retransmission), so queries have slabs of their own: a
 * pending query then keeps only other queries' bytes alive, never a slab of sent replies.
 */
const outgoing = new Slab();
const outgoingQueries = new Slab();

export function encodeQuery(t: Uint8Array, q: string, a: BDict, extras?: EnvelopeExtras): Uint8Array {
  // Keys in sorted order so the encoder skips its sort: a, ip, q, ro, t, v, y.
  return encode(
    { a, q: methodName(q), ro: extras?.ro ? 1 : undefined, t, v: extras?.v, y: Y_Q },
    outgoingQueries,
  );
}

export function encodeResponse(t: Uint8Array, r: BDict, extras?: EnvelopeExtras): Uint8Array {
  return encode({ ip: extras?.ip, r, t, v: extras?.v, y: Y_R }, outgoing);
}

export function encodeError(
  t: Uint8Array,
  code: number,
  message: string,
  extras?: EnvelopeExtras,
): Uint8Array {
  return encode(
    { e: [code, textEncoder.encode(message)], ip: extras?.ip, t, v: extras?.v, y: Y_E },
    outgoing,
  );
}
