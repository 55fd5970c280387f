/**
 * STUN messages (RFC 5389), with the attributes RFC 5780 (NAT behaviour discovery) and RFC 5766
 * (TURN) add. Encoding and decoding only: the decoder never throws, and an address attribute
 * that does not parse is simply absent.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Address, Family } from '../../transport/address.js';
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
export const TRANSACTION_ID_BYTES = 12;
/** Largest message we build or accept: a UDP datagram that never fragments on a 1280-MTU path. */
export const MAX_STUN_BYTES = 1232;

/** Methods (the low 12 bits of the type with the class bits removed). */
export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
} as const;

export type StunClass = 'request' | 'indication' | 'success' | 'error';

export const Attr = {
  MappedAddress: 0x0001,
  ChangeRequest: 0x0003,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedTransport: 0x0019,
  XorMappedAddress: 0x0020,
  Lifetime: 0x000d,
  Software: 0x8022,
  ResponseOrigin: 0x802b,
  OtherAddress: 0x802c,
} as const;

export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  method: number;
  cls: StunClass;
  transactionId: Uint8Array;
  attributes: StunAttribute[];
}

const CLASS_BITS: Record<StunClass, number> = {
  request: 0x000,
  indication: 0x010,
  success: 0x100,
  error: 0x110,
};

function messageType(method: number, cls: StunClass): number {
  // The class bits sit at positions 4 and 8, between the method's bits (RFC 5389 §6).
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | CLASS_BITS[cls];
}

function splitType(type: number): { method: number; cls: StunClass } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  const c = type & 0x110;
  const cls: StunClass = c === 0 ? 'request' : c === 0x010 ? 'indication' : c === 0x100 ? 'success' : 'error';
  return { method, cls };
}

/** Cheap test for the demultiplexer: a STUN message among other datagrams on one socket. */
export function looksLikeStun(data: Uint8Array): boolean {
  return (
    data.length >= HEADER_BYTES &&
    (data[0] as number) < 2 &&
    data[4] === 0x21 &&
    data[5] === 0x12 &&
    data[6] === 0xa4 &&
    data[7] === 0x42
  );
}

export interface EncodeOptions {
  /** Append MESSAGE-INTEGRITY keyed with this (RFC 5389 §15.4). */
  integrityKey?: Uint8Array | undefined;
}

export function encodeStun(msg: StunMessage, opts: EncodeOptions = {}): Uint8Array {
  let body = 0;
  for (const a of msg.attributes) body += 4 + pad4(a.value.length);
  const total = HEADER_BYTES + body + (opts.integrityKey ? 24 : 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(0, messageType(msg.method, msg.cls));
  view.setUint16(2, total - HEADER_BYTES);
  view.setUint32(4, MAGIC_COOKIE);
  out.set(msg.transactionId.subarray(0, TRANSACTION_ID_BYTES), 8);
  let at = HEADER_BYTES;
  for (const a of msg.attributes) {
    view.setUint16(at, a.type);
    view.setUint16(at + 2, a.value.length);
    out.set(a.value, at + 4);
    at += 4 + pad4(a.value.length);
  }
  if (opts.integrityKey) {
    // The HMAC covers everything before the attribute, with the length already counting it.
    view.setUint16(at, Attr.MessageIntegrity);
    view.setUint16(at + 2, 20);
    out.set(hmacSha1(opts.integrityKey, out.subarray(0, at)), at + 4);
  }
  return out;
}

/** Total: undefined for anything that is not a well-formed STUN message. */
export function decodeStun(data: Uint8Array): StunMessage | undefined {
  if (!looksLikeStun(data) || data.length > MAX_STUN_BYTES * 4) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint16(2);
  if (length % 4 !== 0 || HEADER_BYTES + length > data.length) return undefined;
  const { method, cls } = splitType(view.getUint16(0));
  const attributes: StunAttribute[] = [];
  let at = HEADER_BYTES;
  const end = HEADER_BYTES + length;
  while (at + 4 <= end) {
    const type = view.getUint16(at);
    const len = view.getUint16(at + 2);
    if (at + 4 + len > end) return undefined;
    attributes.push({ type, value: data.slice(at + 4, at + 4 + len) });
    at += 4 + pad4(len);
  }
  return { method, cls, transactionId: data.slice(8, 20), attributes };
}

export function attribute(msg: StunMessage, type: number): Uint8Array | undefined {
  return msg.attributes.find((a) => a.type === type)?.value;
}

/** Check MESSAGE-INTEGRITY of a raw message against a key. */
export function verifyIntegrity(raw: Uint8Array, key: Uint8Array): boolean {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = HEADER_BYTES;
  const end = Math.min(raw.length, HEADER_BYTES + view.getUint16(2));
  while (at + 4 <= end) {
    const type = view.getUint16(at);
    const len = view.getUint16(at + 2);
    if (type === Attr.MessageIntegrity && len === 20 && at + 24 <= end) {
      const copy = raw.slice(0, at);
      new DataView(copy.buffer).setUint16(2, at + 24 - HEADER_BYTES);
      return timingSafeEqual(hmacSha1(key, copy), raw.subarray(at + 4, at + 24));
    }
    at += 4 + pad4(len);
  }
  return false;
}

/** RFC 5389 §15.4 long-term credentials: key = MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  return new Uint8Array(createHash('md5').update(`${username}:${realm}:${password}`).digest());
}

function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha1', key).update(data).digest());
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

// ---- address attributes ---------------------------------------------------------------------

function xorMask(transactionId: Uint8Array): Uint8Array {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE);
  mask.set(transactionId.subarray(0, 12), 4);
  return mask;
}

/** MAPPED-ADDRESS style (xor = false) or XOR-*-ADDRESS (xor = true, RFC 5389 §15.2). */
export function encodeAddress(a: Address, transactionId: Uint8Array, xor: boolean): Uint8Array {
  const ip =
    (a.family === 4 ? ipv4ToBytes(a.host) : ipv6ToBytes(a.host)) ?? new Uint8Array(a.family === 4 ? 4 : 16);
  const out = new Uint8Array(4 + ip.length);
  const view = new DataView(out.buffer);
  out[1] = a.family === 4 ? 0x01 : 0x02;
  view.setUint16(2, xor ? a.port ^ (MAGIC_COOKIE >>> 16) : a.port);
  const mask = xorMask(transactionId);
  for (let i = 0; i < ip.length; i++)
    out[4 + i] = xor ? (ip[i] as number) ^ (mask[i] as number) : (ip[i] as number);
  return out;
}

export function decodeAddress(
  value: Uint8Array,
  transactionId: Uint8Array,
  xor: boolean,
): Address | undefined {
  if (value.length < 8) return undefined;
  const family: Family | undefined = value[1] === 0x01 ? 4 : value[1] === 0x02 ? 6 : undefined;
  if (!family || value.length !== (family === 4 ? 8 : 20)) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const port = xor ? view.getUint16(2) ^ (MAGIC_COOKIE >>> 16) : view.getUint16(2);
  const mask = xorMask(transactionId);
  const ip = value.slice(4);
  if (xor) for (let i = 0; i < ip.length; i++) ip[i] = (ip[i] as number) ^ (mask[i] as number);
  return { host: family === 4 ? bytesToIpv4(ip) : bytesToIpv6(ip), port, family };
}

/** An address attribute of `msg`, XOR-decoded when `type` is an XOR-* one. */
export function addressAttribute(msg: StunMessage, type: number): Address | undefined {
  const v = attribute(msg, type);
  if (!v) return undefined;
  const xor =
    type === Attr.XorMappedAddress || type === Attr.XorPeerAddress || type === Attr.XorRelayedAddress;
  return decodeAddress(v, msg.transactionId, xor);
}

/** ERROR-CODE as { code, reason } (RFC 5389 §15.6). */
export function errorCode(msg: StunMessage): { code: number; reason: string } | undefined {
  const v = attribute(msg, Attr.ErrorCode);
  if (!v || v.length < 4) return undefined;
  return {
    code: ((v[2] as number) & 0x7) * 100 + (v[3] as number),
    reason: new TextDecoder().decode(v.subarray(4)),
  };
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
