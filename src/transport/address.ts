/**
 * Network addresses. `host` is a literal IP (v4 dotted quad or v6 text); DNS names are resolved
 * before they reach a transport. The family travels with the address so IPv6 needs no new types.
 */
import { isIP } from 'node:net';
import { ipv4ToBytes } from './ip.js';

export type Family = 4 | 6;

export interface Address {
  readonly host: string;
  readonly port: number;
  readonly family: Family;
}

export function makeAddress(host: string, port: number): Address {
  const family = isIP(host);
  if (family === 0) throw new TypeError(`not an IP address: ${host}`);
  return { host, port, family: family as Family };
}

/** A stable string key, for maps: "1.2.3.4:6881" or "[::1]:6881". */
export function addressKey(a: Address): string {
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && a.host === b.host;
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65536;
}

/**
 * Parse "host:port", "[v6]:port" or "v6%zone" forms. Returns the host text (maybe a DNS name)
 * and the port, or an error message that says what is wrong.
 */
export function parseHostPort(text: string): { host: string; port: number } | { error: string } {
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) {
    host = bracket[1] as string;
    portText = bracket[2] as string;
  } else {
    const i = text.lastIndexOf(':');
    if (i <= 0)
      return {
        error: `"${text}" is not HOST:PORT (for example 127.0.0.1:6881 or router.bittorrent.com:6881)`,
      };
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host.includes(':')) return { error: `"${text}": write IPv6 addresses in brackets, like [::1]:6881` };
  }
  if (!/^\d+$/.test(portText)) return { error: `"${text}": port "${portText}" is not a number` };
  const port = Number(portText);
  if (!isValidPort(port)) return { error: `"${text}": port ${port} is outside 1-65535` };
  return { host, port };
}

/** Scratch for `ipv4Head`: filled and read within one call. */
const octets = new Uint8Array(4);

/**
 * The first two octets of a dotted-quad IPv4 text, or undefined when it is not one. A character
 * scan (`ipv4ToBytes`, which accepts what node:net's isIP does): this runs for every contact a
 * routing table sees, where the regex in isIP showed in profiles.
 */
function ipv4Head(host: string): [number, number] | undefined {
  return ipv4ToBytes(host, octets) ? [octets[0] as number, octets[1] as number] : undefined;
}

/** Loopback, private, link-local and unspecified ranges (BEP 42 exempts these from id checks). */
export function isLocalAddress(host: string): boolean {
  const head = ipv4Head(host);
  if (head) {
    const [a, b] = head;
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const h = host.toLowerCase();
  return h === '::1' || h === '::' || h.startsWith('fe80:') || h.startsWith('fc') || h.startsWith('fd');
}

/** 0.0.0.0 or :: (any spelling): an address to bind, never one to dial or hand out. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || /^[0:]+$/.test(host);
}

/** The /24 (v4) or /48 (v6) an address belongs to, as a string key for diversity limits. */
export function subnetKey(host: string): string {
  if (ipv4Head(host)) return host.slice(0, host.lastIndexOf('.'));
  return host.toLowerCase().split(':').slice(0, 3).join(':');
}
