/**
 * What discovery stores in the overlay (spec §4), under the subject's key:
 *
 * - salt `dmsg`: the subject's dmsg Entry, Go's JSON with its signature;
 * - salt `tp`, then `tp:1`, `tp:2`, ...: the whole list of transports with this edge, as
 *   `{"s":edge,"n":chunks,"ts":[SignedEntry...]}` (the first chunk says how many there are; the
 *   others are `{"s":edge,"i":index,"ts":[...]}`), split so each chunk fits the value limit;
 * - salt `svc`: the subject's services, `[Service...]`.
 *
 * Every record inside is checked on read: entries and transports carry their subjects' own
 * signatures, so a copy stored by anyone (a discovery server's mirror) is as good as the original.
 * Services carry none, so a reader accepts them only from the subject or a key it trusts.
 */
import { bytesEqual, toHex } from '../../util/bytes.js';
import { decodeJson, type JsonValue, stringifyJson } from '../../wire/json.js';
import { decodeEntry, type DiscEntry, encodeEntry, validateEntry } from './entry.js';
import { decodeService, type Service, serviceToJson } from './service.js';
import {
  checkTransport,
  decodeSignedTransport,
  type SignedTransport,
  transportToJson,
} from './transport-entry.js';

export const DMSG_SALT = 'dmsg';
export const TP_SALT = 'tp';
export const SVC_SALT = 'svc';
/** Bytes of JSON per `tp` chunk: under the overlay's 65,536-byte value limit with room to spare. */
export const TP_CHUNK_BYTES = 60_000;
/** Chunks one edge may use: about 9,000 transports. */
export const MAX_TP_CHUNKS = 64;
/** Services one visor lists. */
export const MAX_SERVICES_PER_VISOR = 64;

const utf8 = new TextEncoder();

export function tpSalt(index: number): string {
  return index === 0 ? TP_SALT : `${TP_SALT}:${index}`;
}

export function encodeDmsgValue(entry: DiscEntry): Uint8Array {
  return utf8.encode(encodeEntry(entry));
}

/** The entry in a `dmsg` value, when it is `subject`'s and its signature holds. Never throws. */
export function decodeDmsgValue(value: Uint8Array, subject: Uint8Array): DiscEntry | undefined {
  const parsed = decodeJson(value);
  if (!parsed.ok) return undefined;
  const entry = decodeEntry(parsed.value);
  if (!entry.ok || !bytesEqual(entry.value.static, subject)) return undefined;
  return validateEntry(entry.value).ok ? entry.value : undefined;
}

/** Split an edge's transports into chunk values; salt i is `tpSalt(i)`. */
export function encodeTpChunks(edge: Uint8Array, transports: readonly SignedTransport[]): Uint8Array[] {
  const s = toHex(edge);
  const rows = transports.map((t) => stringifyJson(transportToJson(t)));
  const groups: string[][] = [[]];
  let size = 0;
  for (const row of rows) {
    if (size + row.length + 1 > TP_CHUNK_BYTES && (groups.at(-1) as string[]).length > 0) {
      if (groups.length >= MAX_TP_CHUNKS) break;
      groups.push([]);
      size = 0;
    }
    (groups.at(-1) as string[]).push(row);
    size += row.length + 1;
  }
  return groups.map((g, i) =>
    utf8.encode(
      i === 0
        ? `{"s":"${s}","n":${groups.length},"ts":[${g.join(',')}]}`
        : `{"s":"${s}","i":${i},"ts":[${g.join(',')}]}`,
    ),
  );
}

export interface TpChunk {
  /** Chunks in all (read from the first chunk; 0 in the others). */
  count: number;
  transports: SignedTransport[];
}

/**
 * One chunk: its transports that involve `edge` and verify (others are dropped, not trusted).
 * Undefined when the value is not a chunk for this edge.
 */
export function decodeTpChunk(value: Uint8Array, edge: Uint8Array, index: number): TpChunk | undefined {
  const parsed = decodeJson(value);
  if (
    !parsed.ok ||
    typeof parsed.value !== 'object' ||
    parsed.value === null ||
    Array.isArray(parsed.value)
  ) {
    return undefined;
  }
  const o = parsed.value as Record<string, JsonValue>;
  if (o.s !== toHex(edge) || !Array.isArray(o.ts)) return undefined;
  let count = 0;
  if (index === 0) {
    if (typeof o.n !== 'number' || !Number.isInteger(o.n) || o.n < 1 || o.n > MAX_TP_CHUNKS) return undefined;
    count = o.n;
  } else if (o.i !== index) return undefined;
  const transports: SignedTransport[] = [];
  for (const row of o.ts) {
    const t = decodeSignedTransport(row);
    if (!t.ok) continue;
    const { edges } = t.value.entry;
    if (!bytesEqual(edges[0], edge) && !bytesEqual(edges[1], edge)) continue;
    if (checkTransport(t.value).ok) transports.push(t.value);
  }
  return { count, transports };
}

export function encodeSvcValue(services: readonly Service[]): Uint8Array {
  return utf8.encode(stringifyJson(services.slice(0, MAX_SERVICES_PER_VISOR).map(serviceToJson)));
}

/** The services in a `svc` value that belong to `subject`. Never throws. */
export function decodeSvcValue(value: Uint8Array, subject: Uint8Array): Service[] | undefined {
  const parsed = decodeJson(value);
  if (!parsed.ok || !Array.isArray(parsed.value)) return undefined;
  const out: Service[] = [];
  for (const row of parsed.value.slice(0, MAX_SERVICES_PER_VISOR)) {
    const s = decodeService(row);
    if (s.ok && bytesEqual(s.value.publicKey, subject)) out.push(s.value);
  }
  return out;
}
