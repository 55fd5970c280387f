/**
 * Transport discovery's records (spec §6.2): a transport between two visors, named by a UUID
 * derived from its edges and type, signed by each edge over ID || edge A || edge B || type.
 *
 * Edges are sorted (numerically smaller key first), so both ends compute the same ID. A signed
 * entry carries one signature slot per edge; an all-zero slot means that edge has not signed.
 */
import { bytesEqual, compareBytes, toHex } from '../../util/bytes.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { sha256 } from '../../util/sha256.js';
import type { JsonValue } from '../../wire/json.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../overlay/constants.js';
import { isValidPublicKey, verifyPayload } from '../overlay/identity.js';
import type { DecodeResult } from './entry.js';
import { FieldError, hexBytes, INT64_MAX, integer, object, onlyKeys, string } from './go-json.js';

export const TRANSPORT_TYPES = ['dmsg', 'stcp', 'stcpr', 'sudph'] as const;
export const TRANSPORT_LABELS = ['user', 'automatic', 'skycoin'] as const;
/** Longest type or label accepted. */
const MAX_TYPE_CHARS = 32;

export interface TransportEntry {
  /** 16 bytes. */
  id: Uint8Array;
  /** Sorted: edges[0] < edges[1] as big-endian numbers. */
  edges: [Uint8Array, Uint8Array];
  type: string;
  label: string;
}

export interface SignedTransport {
  entry: TransportEntry;
  /** signatures[i] is edges[i]'s, or undefined when that edge has not signed. */
  signatures: [Uint8Array | undefined, Uint8Array | undefined];
  /** UnixNano when the discovery registered it (0: not yet). */
  registered: bigint;
}

const utf8 = new TextEncoder();

export function sortEdges(a: Uint8Array, b: Uint8Array): [Uint8Array, Uint8Array] {
  return compareBytes(a, b) <= 0 ? [a, b] : [b, a];
}

/** Go's uuid.NewHash(sha256, uuid.Nil, edgeA || edgeB || type, 0): the transport's ID. */
export function makeTransportId(a: Uint8Array, b: Uint8Array, type: string): Uint8Array {
  const [lo, hi] = sortEdges(a, b);
  const t = utf8.encode(type);
  const data = new Uint8Array(16 + PUBLIC_KEY_BYTES * 2 + t.length);
  data.set(lo, 16);
  data.set(hi, 16 + PUBLIC_KEY_BYTES);
  data.set(t, 16 + PUBLIC_KEY_BYTES * 2);
  const id = sha256(data).slice(0, 16);
  id[6] = (id[6] as number) & 0x0f; // version 0
  id[8] = ((id[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  return id;
}

export function formatUuid(id: Uint8Array): string {
  const h = toHex(id);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function parseUuid(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text))
    return undefined;
  return Uint8Array.from(Buffer.from(text.replaceAll('-', ''), 'hex'));
}

/** The bytes each edge signs. */
export function transportSigningBytes(entry: TransportEntry): Uint8Array {
  const t = utf8.encode(entry.type);
  const out = new Uint8Array(16 + PUBLIC_KEY_BYTES * 2 + t.length);
  out.set(entry.id, 0);
  out.set(entry.edges[0], 16);
  out.set(entry.edges[1], 16 + PUBLIC_KEY_BYTES);
  out.set(t, 16 + PUBLIC_KEY_BYTES * 2);
  return out;
}

/** A new entry between two keys: sorted edges and the derived ID. */
export function newTransportEntry(
  a: Uint8Array,
  b: Uint8Array,
  type: string,
  label = 'user',
): TransportEntry {
  return { id: makeTransportId(a, b, type), edges: sortEdges(a, b), type, label };
}

/** Add `signer`'s signature to the slot of its edge. */
export function signTransport(
  signed: SignedTransport,
  signer: { publicKey: Uint8Array; sign(payload: Uint8Array): Uint8Array },
): SignedTransport {
  const slot = bytesEqual(signed.entry.edges[0], signer.publicKey) ? 0 : 1;
  if (!bytesEqual(signed.entry.edges[slot], signer.publicKey)) {
    throw new InvalidArgumentError(
      'the signer is not an edge of this transport; sign with one of its two keys',
    );
  }
  const signatures: SignedTransport['signatures'] = [...signed.signatures];
  signatures[slot] = signer.sign(transportSigningBytes(signed.entry));
  return { ...signed, signatures };
}

export type TransportCheck = { ok: true; signedBy: Uint8Array[] } | { ok: false; message: string };

/**
 * The entry's ID matches its edges and type, edges are sorted and distinct, and every present
 * signature verifies for its edge; at least one must be present. Never throws.
 */
export function checkTransport(signed: SignedTransport): TransportCheck {
  const { entry } = signed;
  if (compareBytes(entry.edges[0], entry.edges[1]) >= 0) {
    return { ok: false, message: 'edges must be two different keys, the smaller first' };
  }
  if (!bytesEqual(entry.id, makeTransportId(entry.edges[0], entry.edges[1], entry.type))) {
    return { ok: false, message: 't_id is not the ID derived from the edges and type' };
  }
  const payload = transportSigningBytes(entry);
  const signedBy: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    const sig = signed.signatures[i];
    if (!sig) continue;
    if (!verifyPayload(entry.edges[i] as Uint8Array, payload, sig)) {
      return { ok: false, message: `signatures[${i}] does not verify for edges[${i}]` };
    }
    signedBy.push(entry.edges[i] as Uint8Array);
  }
  if (signedBy.length === 0) return { ok: false, message: 'no edge has signed this transport' };
  return { ok: true, signedBy };
}

export function decodeTransportEntry(json: JsonValue): DecodeResult<TransportEntry> {
  return guard(() => readEntry(json, 'entry'));
}

export function decodeSignedTransport(json: JsonValue): DecodeResult<SignedTransport> {
  return guard(() => {
    const o = object(json, 'signed entry');
    onlyKeys(o, ['entry', 'signatures', 'registered'], '');
    const sigs = o.signatures;
    if (!Array.isArray(sigs) || sigs.length !== 2) {
      throw new FieldError('signatures', 'must be an array of two signatures (hex)');
    }
    const signatures = sigs.map((s, i) => {
      const sig = hexBytes(s, `signatures[${i}]`, SIGNATURE_BYTES);
      return sig.every((b) => b === 0) ? undefined : sig;
    }) as SignedTransport['signatures'];
    return {
      entry: readEntry(o.entry, 'entry'),
      signatures,
      registered: integer(o.registered, 'registered', 0n, INT64_MAX),
    };
  });
}

function readEntry(json: JsonValue | undefined, field: string): TransportEntry {
  const o = object(json, field);
  onlyKeys(o, ['t_id', 'edges', 'type', 'label'], field);
  const id = typeof o.t_id === 'string' ? parseUuid(o.t_id) : undefined;
  if (!id) throw new FieldError(`${field}.t_id`, 'must be a UUID');
  const edges = o.edges;
  if (!Array.isArray(edges) || edges.length !== 2) {
    throw new FieldError(`${field}.edges`, 'must be an array of two public keys');
  }
  const keys = edges.map((e, i) => {
    const key = hexBytes(e, `${field}.edges[${i}]`, PUBLIC_KEY_BYTES);
    if (!isValidPublicKey(key)) throw new FieldError(`${field}.edges[${i}]`, 'is not a secp256k1 public key');
    return key;
  }) as [Uint8Array, Uint8Array];
  const type = string(o.type, `${field}.type`, MAX_TYPE_CHARS);
  if (!(TRANSPORT_TYPES as readonly string[]).includes(type)) {
    throw new FieldError(`${field}.type`, `must be one of ${TRANSPORT_TYPES.join(', ')}`);
  }
  return { id, edges: keys, type, label: string(o.label, `${field}.label`, MAX_TYPE_CHARS) };
}

const ZERO_SIG = '0'.repeat(SIGNATURE_BYTES * 2);

/** The JSON object Skywire writes for a signed entry. */
export function transportToJson(signed: SignedTransport): Record<string, JsonValue> {
  const { entry } = signed;
  return {
    entry: {
      t_id: formatUuid(entry.id),
      edges: [toHex(entry.edges[0]), toHex(entry.edges[1])],
      type: entry.type,
      label: entry.label,
    },
    signatures: signed.signatures.map((s) => (s ? toHex(s) : ZERO_SIG)),
    ...(signed.registered !== 0n ? { registered: signed.registered } : {}),
  };
}

function guard<T>(read: () => T): DecodeResult<T> {
  try {
    return { ok: true, value: read() };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, field: err.field, message: err.message };
    return { ok: false, field: '', message: `unreadable record: ${String(err)}` };
  }
}

export { guard as decodeGuard };
