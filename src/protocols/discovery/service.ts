/**
 * Service discovery's record (spec §6.4): a visor's service at "pkhex:port", with its type and
 * optional version, location and addresses. A Service carries no signature of its own: the
 * request that registers it is signed (SW-Sig), and the key must be the address's.
 */
import { toHex } from '../../util/bytes.js';
import type { JsonObject, JsonValue } from '../../wire/json.js';
import { PUBLIC_KEY_BYTES } from '../overlay/constants.js';
import { isValidPublicKey } from '../overlay/identity.js';
import type { DecodeResult } from './entry.js';
import { bool, FieldError, hexBytes, object, onlyKeys, string } from './go-json.js';
import { decodeGuard } from './transport-entry.js';

export const SERVICE_TYPES = ['skysocks', 'proxy', 'vpn', 'visor', 'dht'] as const;
const MAX_TEXT = 256;
const MAX_LOCAL_IPS = 16;
/** An `info` object (VPN details) is kept as JSON up to this many characters. */
export const MAX_SERVICE_INFO_CHARS = 4096;

export interface ServiceGeo {
  lat: number;
  lon: number;
  country: string;
  region: string;
}

export interface Service {
  publicKey: Uint8Array;
  port: number;
  type: string;
  geo?: ServiceGeo | undefined;
  displayNodeIp: boolean;
  version: string;
  localIps: string[];
  /** Kept as given (an object), bounded in size. */
  info?: JsonObject | undefined;
}

/** "pkhex:port". */
export function serviceAddress(s: { publicKey: Uint8Array; port: number }): string {
  return `${toHex(s.publicKey)}:${s.port}`;
}

export function parseServiceAddress(text: string): { publicKey: Uint8Array; port: number } | undefined {
  const colon = text.indexOf(':');
  if (colon !== PUBLIC_KEY_BYTES * 2) return undefined;
  try {
    const publicKey = hexBytes(text.slice(0, colon), 'address', PUBLIC_KEY_BYTES);
    const port = Number(text.slice(colon + 1));
    if (!isValidPublicKey(publicKey) || !/^\d{1,5}$/.test(text.slice(colon + 1)) || port > 65_535) {
      return undefined;
    }
    return { publicKey, port };
  } catch {
    return undefined;
  }
}

/** `proxy` is the older name of `skysocks` (SD maps it on queries). */
export function canonicalServiceType(type: string): string {
  return type === 'proxy' ? 'skysocks' : type;
}

export function decodeService(json: JsonValue): DecodeResult<Service> {
  return decodeGuard(() => {
    const o = object(json, 'service');
    onlyKeys(o, ['address', 'type', 'geo', 'display_node_ip', 'version', 'local_ips', 'info'], '');
    const addr = typeof o.address === 'string' ? parseServiceAddress(o.address) : undefined;
    if (!addr) throw new FieldError('address', 'must be "PUBKEYHEX:PORT"');
    const type = string(o.type, 'type', MAX_TEXT);
    if (!(SERVICE_TYPES as readonly string[]).includes(type)) {
      throw new FieldError('type', `must be one of ${SERVICE_TYPES.join(', ')}`);
    }
    const service: Service = {
      ...addr,
      type: canonicalServiceType(type),
      displayNodeIp: bool(o.display_node_ip, 'display_node_ip'),
      version: string(o.version, 'version', MAX_TEXT),
      localIps: [],
    };
    if (o.geo !== undefined && o.geo !== null) {
      const g = object(o.geo, 'geo');
      onlyKeys(g, ['lat', 'lon', 'country', 'region'], 'geo');
      const lat = g.lat ?? 0;
      const lon = g.lon ?? 0;
      if (typeof lat !== 'number' || typeof lon !== 'number' || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
        throw new FieldError('geo', 'lat and lon must be numbers within ±90 and ±180');
      }
      service.geo = {
        lat,
        lon,
        country: string(g.country, 'geo.country', MAX_TEXT),
        region: string(g.region, 'geo.region', MAX_TEXT),
      };
    }
    if (o.local_ips !== undefined && o.local_ips !== null) {
      if (!Array.isArray(o.local_ips) || o.local_ips.length > MAX_LOCAL_IPS) {
        throw new FieldError('local_ips', `must be an array of at most ${MAX_LOCAL_IPS} strings`);
      }
      service.localIps = o.local_ips.map((ip, i) => string(ip, `local_ips[${i}]`, 64));
    }
    if (o.info !== undefined && o.info !== null) {
      const info = object(o.info, 'info');
      if (
        JSON.stringify(info, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).length >
        MAX_SERVICE_INFO_CHARS
      ) {
        throw new FieldError('info', `must be at most ${MAX_SERVICE_INFO_CHARS} characters of JSON`);
      }
      service.info = info;
    }
    if ((service.type === 'vpn' || service.type === 'skysocks') && service.version === '') {
      throw new FieldError('version', `is required for a ${service.type} service`);
    }
    return service;
  });
}

export function serviceToJson(s: Service): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { address: serviceAddress(s), type: s.type };
  if (s.geo) out.geo = { ...s.geo };
  if (s.displayNodeIp) out.display_node_ip = true;
  if (s.version !== '') out.version = s.version;
  if (s.localIps.length > 0) out.local_ips = [...s.localIps];
  if (s.info) out.info = s.info;
  return out;
}
