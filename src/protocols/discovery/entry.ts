/**
 * dmsg discovery's Entry (spec §5.2): the record a dmsg client or server publishes about itself,
 * signed by its own key, so it stays authentic whoever stores or relays it (the HTTP discovery,
 * the overlay, a mirror signed by someone else).
 *
 * The signature is Skywire's SignPayload (secp256k1 over SHA-256) of the JSON Go writes for the
 * struct with `signature` emptied (omitted by omitempty). `entrySigningBytes` reproduces those
 * bytes from the decoded record; `decodeEntry` refuses fields the struct lacks, because Go would
 * drop them before checking, and the check would then fail anyway.
 */
import { toHex } from '../../util/bytes.js';
import type { JsonValue } from '../../wire/json.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../overlay/constants.js';
import { isValidPublicKey, verifyPayload } from '../overlay/identity.js';
import {
  bool,
  FieldError,
  goString,
  hexBytes,
  INT32_MAX,
  INT64_MAX,
  INT64_MIN,
  integer,
  object,
  onlyKeys,
  string,
  UINT64_MAX,
} from './go-json.js';

/** dmsg's entry version. */
export const ENTRY_VERSION = '0.0.1';
/** Longest address or type string accepted (a host:port fits in far less). */
export const MAX_ENTRY_TEXT = 256;
/** Most delegated servers one client entry lists (dmsg clients use a handful). */
export const MAX_DELEGATED_SERVERS = 64;
/** A server entry's timestamp may lag the server's clock by this much (dmsg: 1 minute) ... */
export const SERVER_ENTRY_PAST_NS = 60_000_000_000n;
/** ... and lead it by this much (dmsg: 5 seconds). */
export const SERVER_ENTRY_FUTURE_NS = 5_000_000_000n;

export interface DiscServer {
  address: string;
  addressV6: string;
  addressUdp: string;
  addressUdpV6: string;
  addressWs: string;
  availableSessions: number;
  serverType: string;
  dhtBootstrap: boolean;
}

export interface DiscEntry {
  version: string;
  sequence: bigint;
  /** UnixNano. */
  timestamp: bigint;
  static: Uint8Array;
  /** Present for a client; `delegatedServers` null is Go's nil slice. */
  client?: { delegatedServers: Uint8Array[] | null } | undefined;
  clientType: string;
  server?: DiscServer | undefined;
  /** 65 bytes, or undefined when unsigned. */
  signature?: Uint8Array | undefined;
  protocol: string;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

const ENTRY_KEYS = [
  'version',
  'sequence',
  'timestamp',
  'static',
  'client',
  'client_type',
  'server',
  'signature',
  'protocol',
];
const SERVER_KEYS = [
  'address',
  'address_v6',
  'address_udp',
  'address_udp_v6',
  'address_ws',
  'availableSessions',
  'serverType',
  'dht_bootstrap',
];

/** Decode an Entry from parsed JSON. Never throws. */
export function decodeEntry(json: JsonValue): DecodeResult<DiscEntry> {
  try {
    return { ok: true, value: readEntry(json) };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, field: err.field, message: err.message };
    return { ok: false, field: '', message: `unreadable entry: ${String(err)}` };
  }
}

function readEntry(json: JsonValue): DiscEntry {
  const o = object(json, 'entry');
  onlyKeys(o, ENTRY_KEYS, '');
  const staticKey = o.static === '' || o.static === undefined ? undefined : pubKey(o.static, 'static');
  if (!staticKey) throw new FieldError('static', 'is required (the publisher public key, 66 hex characters)');
  const entry: DiscEntry = {
    version: string(o.version, 'version', MAX_ENTRY_TEXT),
    sequence: integer(o.sequence, 'sequence', 0n, UINT64_MAX),
    timestamp: integer(o.timestamp, 'timestamp', INT64_MIN, INT64_MAX),
    static: staticKey,
    clientType: string(o.client_type, 'client_type', MAX_ENTRY_TEXT),
    protocol: string(o.protocol, 'protocol', MAX_ENTRY_TEXT),
  };
  if (o.client !== undefined && o.client !== null) {
    const c = object(o.client, 'client');
    onlyKeys(c, ['delegated_servers'], 'client');
    const list = c.delegated_servers;
    if (list === null || list === undefined) entry.client = { delegatedServers: null };
    else {
      if (!Array.isArray(list)) throw new FieldError('client.delegated_servers', 'must be an array');
      if (list.length > MAX_DELEGATED_SERVERS) {
        throw new FieldError('client.delegated_servers', `must list at most ${MAX_DELEGATED_SERVERS}`);
      }
      entry.client = {
        delegatedServers: list.map((v, i) => pubKey(v, `client.delegated_servers[${i}]`)),
      };
    }
  }
  if (o.server !== undefined && o.server !== null) {
    const s = object(o.server, 'server');
    onlyKeys(s, SERVER_KEYS, 'server');
    entry.server = {
      address: string(s.address, 'server.address', MAX_ENTRY_TEXT),
      addressV6: string(s.address_v6, 'server.address_v6', MAX_ENTRY_TEXT),
      addressUdp: string(s.address_udp, 'server.address_udp', MAX_ENTRY_TEXT),
      addressUdpV6: string(s.address_udp_v6, 'server.address_udp_v6', MAX_ENTRY_TEXT),
      addressWs: string(s.address_ws, 'server.address_ws', MAX_ENTRY_TEXT),
      availableSessions: Number(
        integer(s.availableSessions, 'server.availableSessions', -INT32_MAX, INT32_MAX),
      ),
      serverType: string(s.serverType, 'server.serverType', MAX_ENTRY_TEXT),
      dhtBootstrap: bool(s.dht_bootstrap, 'server.dht_bootstrap'),
    };
  }
  if (o.signature !== undefined && o.signature !== null && o.signature !== '') {
    entry.signature = hexBytes(o.signature, 'signature', SIGNATURE_BYTES);
  }
  return entry;
}

function pubKey(v: JsonValue | undefined, field: string): Uint8Array {
  const key = hexBytes(v, field, PUBLIC_KEY_BYTES);
  if (!isValidPublicKey(key)) throw new FieldError(field, 'is not a secp256k1 public key');
  return key;
}

/** Go's JSON for the entry, with or without its signature (struct order, omitempty). */
export function encodeEntry(entry: DiscEntry, withSignature = true): string {
  let out = `{"version":${goString(entry.version)},"sequence":${entry.sequence},"timestamp":${entry.timestamp},"static":"${toHex(entry.static)}"`;
  if (entry.client) {
    const list = entry.client.delegatedServers;
    out += `,"client":{"delegated_servers":${list === null ? 'null' : `[${list.map((k) => `"${toHex(k)}"`).join(',')}]`}}`;
  }
  if (entry.clientType !== '') out += `,"client_type":${goString(entry.clientType)}`;
  if (entry.server) {
    const s = entry.server;
    out += `,"server":{"address":${goString(s.address)}`;
    if (s.addressV6 !== '') out += `,"address_v6":${goString(s.addressV6)}`;
    if (s.addressUdp !== '') out += `,"address_udp":${goString(s.addressUdp)}`;
    if (s.addressUdpV6 !== '') out += `,"address_udp_v6":${goString(s.addressUdpV6)}`;
    if (s.addressWs !== '') out += `,"address_ws":${goString(s.addressWs)}`;
    out += `,"availableSessions":${s.availableSessions}`;
    if (s.serverType !== '') out += `,"serverType":${goString(s.serverType)}`;
    if (s.dhtBootstrap) out += ',"dht_bootstrap":true';
    out += '}';
  }
  if (withSignature && entry.signature) out += `,"signature":"${toHex(entry.signature)}"`;
  if (entry.protocol !== '') out += `,"protocol":${goString(entry.protocol)}`;
  return `${out}}`;
}

const utf8 = new TextEncoder();

/** The bytes the signature covers: Go's JSON of the entry with `signature` emptied. */
export function entrySigningBytes(entry: DiscEntry): Uint8Array {
  return utf8.encode(encodeEntry(entry, false));
}

/** Sign with the publisher's key (which must be `entry.static`'s). */
export function signEntry(entry: DiscEntry, signer: { sign(payload: Uint8Array): Uint8Array }): DiscEntry {
  return { ...entry, signature: signer.sign(entrySigningBytes(entry)) };
}

/** True when the signature verifies for `entry.static`. Never throws. */
export function verifyEntrySignature(entry: DiscEntry): boolean {
  if (!entry.signature) return false;
  return verifyPayload(entry.static, entrySigningBytes(entry), entry.signature);
}

export type EntryCheckCode =
  | 'EMPTY_VERSION'
  | 'NO_SIGNATURE'
  | 'NO_CLIENT_OR_SERVER'
  | 'SERVER_ADDRESS'
  | 'WRONG_TIME'
  | 'WRONG_SEQUENCE'
  | 'BAD_SIGNATURE';

export interface EntryCheckFailure {
  ok: false;
  code: EntryCheckCode;
  /** dmsg's error text, which its clients map back to errors. */
  message: string;
}

/**
 * dmsg's `Validate` (with the server timestamp window when `nowNs` is given) and its signature
 * check. Cheap checks run first; the signature last.
 */
export function validateEntry(entry: DiscEntry, nowNs?: bigint): { ok: true } | EntryCheckFailure {
  const fail = (code: EntryCheckCode, message: string): EntryCheckFailure => ({ ok: false, code, message });
  if (entry.version === '')
    return fail('EMPTY_VERSION', 'entry validation error: entry version cannot be nil');
  if (!entry.signature) return fail('NO_SIGNATURE', 'entry validation error: entry has no signature');
  if (!entry.client && !entry.server) {
    return fail('NO_CLIENT_OR_SERVER', 'entry validation error: entry has neither client or server field');
  }
  if (entry.server && entry.server.address === '') {
    return fail('SERVER_ADDRESS', 'entry validation error: server address cannot be empty');
  }
  if (entry.server && nowNs !== undefined) {
    if (entry.timestamp < nowNs - SERVER_ENTRY_PAST_NS || entry.timestamp > nowNs + SERVER_ENTRY_FUTURE_NS) {
      return fail('WRONG_TIME', 'entry validation error: entry timestamp is not correct');
    }
  }
  if (!verifyEntrySignature(entry)) return fail('BAD_SIGNATURE', 'invalid signature');
  return { ok: true };
}

/** dmsg's ValidateIteration: a new entry must have a higher sequence and no older timestamp. */
export function validateIteration(old: DiscEntry, next: DiscEntry): { ok: true } | EntryCheckFailure {
  if (next.sequence <= old.sequence || next.timestamp < old.timestamp) {
    return {
      ok: false,
      code: 'WRONG_SEQUENCE',
      message: 'entry validation error: sequence field of new entry is not sequence of old entry + 1',
    };
  }
  return { ok: true };
}
