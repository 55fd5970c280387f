/**
 * The DNS-rebinding defence. A page on attacker.example can re-point its name at 127.0.0.1 and
 * then call the API as its own origin, so a browser's same-origin rule protects nothing; but the
 * browser still sends `Host: attacker.example:PORT`. So every request's Host must name the address
 * the API is bound to (or a name the operator listed in api.allowed_hosts), and a write's Origin,
 * when there is one, must be one of those too. An IP literal cannot be rebound, so when bound to
 * every address (0.0.0.0 or ::) any IP literal on our port is accepted.
 */
import { type AddressInfo, isIP } from 'node:net';
import { bytesToIpv6, ipv6ToBytes } from '../../transport/ip.js';
import { HttpError } from './types.js';

/** Longest Host or Origin text echoed back in an error. */
const MAX_ECHO_CHARS = 100;
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** A name as it appears in Host: lower case, IPv6 in canonical form within brackets. */
interface HostPort {
  name: string;
  port: number | undefined;
}

export interface HostGuard {
  /** Undefined when the request may proceed. */
  checkHost(host: string | undefined): HttpError | undefined;
  /** For writes: undefined when Origin is absent or names an allowed host. */
  checkOrigin(origin: string | undefined): HttpError | undefined;
  /** What is accepted, for messages and logs. */
  readonly described: string;
}

/** Parse "name", "name:port", "[v6]" or "[v6]:port"; undefined when it is none of these. */
export function parseHostHeader(text: string): HostPort | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  let name = m[1] as string;
  if (name.startsWith('[')) {
    const bytes = ipv6ToBytes(name.slice(1, -1));
    if (!bytes) return undefined;
    name = `[${bytesToIpv6(bytes)}]`;
  }
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { name, port };
}

function isIpLiteral(name: string): boolean {
  return name.startsWith('[') || isIP(name) === 4;
}

function echo(text: string): string {
  return JSON.stringify(text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}...` : text);
}

/**
 * The guard for a server bound at `bound`. `extra` entries are validated by the config
 * (`api.allowed_hosts`); an entry that does not parse is ignored here.
 */
export function createHostGuard(bound: AddressInfo, extra: readonly string[]): HostGuard {
  const port = bound.port;
  const wildcard = bound.address === '0.0.0.0' || bound.address === '::';
  const boundName = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const loopback = bound.address === '::1' || bound.address.startsWith('127.');
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  if (!wildcard) exact.add(`${parseHostHeader(boundName)?.name ?? boundName}:${port}`);
  if (loopback || wildcard) exact.add(`localhost:${port}`);
  for (const entry of extra) {
    const parsed = parseHostHeader(entry);
    if (!parsed) continue;
    if (parsed.port === undefined) anyPort.add(parsed.name);
    else exact.add(`${parsed.name}:${parsed.port}`);
  }
  const described = [
    ...(wildcard ? [`any IP address:${port}`] : []),
    ...exact,
    ...[...anyPort].map((n) => `${n} (any port)`),
  ].join(', ');

  const allowed = (hp: HostPort, defaultPort: number): boolean => {
    const p = hp.port ?? defaultPort;
    if (anyPort.has(hp.name) || exact.has(`${hp.name}:${p}`)) return true;
    return wildcard && p === port && isIpLiteral(hp.name);
  };
  const advice =
    'if you reach the daemon by another name (a reverse proxy, a LAN name), add it to api.allowed_hosts ' +
    '(KADMIUM_API_ALLOWED_HOSTS, comma-separated)';

  return {
    described,
    checkHost(host) {
      if (host === undefined || host === '')
        return new HttpError(400, 'HOST_MISSING', `send a Host header naming this API (${described})`);
      const hp = parseHostHeader(host);
      if (hp && allowed(hp, 80)) return undefined;
      return new HttpError(
        403,
        'HOST_NOT_ALLOWED',
        `Host ${echo(host)} does not name this API (${described}); requests under other names are ` +
          `refused so that a web page cannot reach the daemon by DNS rebinding; ${advice}`,
      );
    },
    checkOrigin(origin) {
      if (origin === undefined) return undefined;
      let hp: HostPort | undefined;
      try {
        const url = new URL(origin);
        const defaultPort = DEFAULT_PORTS[url.protocol];
        if (defaultPort !== undefined) {
          const parsed = parseHostHeader(url.host);
          if (parsed && allowed(parsed, defaultPort)) return undefined;
          hp = parsed;
        }
      } catch {
        hp = undefined;
      }
      return new HttpError(
        403,
        'ORIGIN_NOT_ALLOWED',
        `Origin ${echo(origin)} is not this API (${described}); writes from other web pages${
          hp ? '' : ' and from opaque origins ("null")'
        } are refused; ${advice}`,
      );
    },
  };
}
