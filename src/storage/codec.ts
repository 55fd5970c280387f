/**
 * Records as bencoded bytes, for backends that keep a record in one opaque value (Redis). Keys are
 * short and fixed; the target or infohash is the backend's key, so it is not repeated inside.
 */
import type { Family } from '../transport/address.js';
import { type BDict, decode, encode } from '../wire/bencode.js';
import type { StoredItem } from './item-store.js';
import type { PeerRecord } from './peer-store.js';

const latin1 = (s: string): Uint8Array => Buffer.from(s, 'latin1');

export function encodeItemRecord(item: StoredItem): Uint8Array {
  const dict: BDict = { e: item.expiresAt, t: item.storedAt, v: item.v };
  if (item.k) dict.k = item.k;
  if (item.sig) dict.sig = item.sig;
  if (item.salt) dict.salt = item.salt;
  if (item.seq !== undefined) dict.seq = item.seq;
  return encode(dict);
}

/** Undefined when the bytes are not a record this codec wrote. */
export function decodeItemRecord(target: Uint8Array, bytes: Uint8Array): StoredItem | undefined {
  const out = decode(bytes);
  if (!out.ok || !isDict(out.value)) return undefined;
  const d = out.value;
  if (typeof d.e !== 'number' || typeof d.t !== 'number' || !(d.v instanceof Uint8Array)) return undefined;
  return {
    target,
    v: d.v,
    ...(d.k instanceof Uint8Array ? { k: d.k } : {}),
    ...(d.sig instanceof Uint8Array ? { sig: d.sig } : {}),
    ...(d.salt instanceof Uint8Array ? { salt: d.salt } : {}),
    ...(typeof d.seq === 'number' ? { seq: d.seq } : {}),
    storedAt: d.t,
    expiresAt: d.e,
  };
}

export function encodePeerRecord(r: PeerRecord): Uint8Array {
  return encode({
    e: r.expiresAt,
    f: r.address.family,
    h: latin1(r.address.host),
    p: r.address.port,
    s: r.seed ? 1 : 0,
    t: r.storedAt,
  });
}

export function decodePeerRecord(infohash: Uint8Array, bytes: Uint8Array): PeerRecord | undefined {
  const out = decode(bytes);
  if (!out.ok || !isDict(out.value)) return undefined;
  const d = out.value;
  if (
    typeof d.e !== 'number' ||
    typeof d.t !== 'number' ||
    typeof d.p !== 'number' ||
    (d.f !== 4 && d.f !== 6) ||
    !(d.h instanceof Uint8Array)
  ) {
    return undefined;
  }
  return {
    infohash,
    address: { host: Buffer.from(d.h).toString('latin1'), port: d.p, family: d.f as Family },
    seed: d.s === 1,
    storedAt: d.t,
    expiresAt: d.e,
  };
}

function isDict(v: unknown): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}
