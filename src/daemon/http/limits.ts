/**
 * What one client may hold of the HTTP server: connections per address, and how long headers and
 * bodies may take to arrive. Without these, a client that opens sockets, or declares a body and
 * never sends it, holds server resources for as long as it likes (it was 150 s per request).
 */
import type { Server, Socket } from 'node:net';
import { isIPv4 } from 'node:net';
import { bytesToIpv6, ipv6ToBytes } from '../../transport/ip.js';

/** Defaults of the api.* keys (seconds in the config, milliseconds here). */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 64;
export const DEFAULT_HEADERS_TIMEOUT_S = 5;
export const DEFAULT_REQUEST_TIMEOUT_S = 10;
export const DEFAULT_BODY_IDLE_TIMEOUT_S = 5;
/** All connections at once, whoever holds them; node:http closes the excess at accept. */
export const MAX_HTTP_CONNECTIONS = 1024;
/**
 * How often node:http looks for requests past headersTimeout / requestTimeout. Its default (30 s)
 * would let a stalled request live up to 30 s past a timeout of a few seconds.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 500;

export interface HttpLimits {
  /** Names besides the bound address that Host and Origin may carry: "name" (any port) or "name:port". */
  allowedHosts: readonly string[];
  /** Open connections per remote address (IPv6: per /64); the excess is closed at accept. */
  maxConnectionsPerIp: number;
  /** Time for a request's headers to arrive in full. */
  headersTimeoutMs: number;
  /** Time for a whole request (headers and body) to arrive; not the time to answer it. */
  requestTimeoutMs: number;
  /** Longest silence while a body is arriving. */
  bodyIdleTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  allowedHosts: [],
  maxConnectionsPerIp: DEFAULT_MAX_CONNECTIONS_PER_IP,
  headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_S * 1000,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_S * 1000,
  bodyIdleTimeoutMs: DEFAULT_BODY_IDLE_TIMEOUT_S * 1000,
};

/**
 * The key a connection is counted under: the IPv4 address (also when IPv4-mapped), or the /64 of
 * an IPv6 one, since one host usually holds a whole /64 and could rotate through it.
 */
export function connectionKey(remote: string | undefined): string {
  if (remote === undefined) return '?';
  const mapped = remote.toLowerCase().startsWith('::ffff:') ? remote.slice(7) : remote;
  if (isIPv4(mapped)) return mapped;
  const bytes = ipv6ToBytes(remote);
  if (!bytes) return remote;
  bytes.fill(0, 8);
  return `${bytesToIpv6(bytes)}/64`;
}

/**
 * Destroy connections beyond `max` per address as they are accepted, before a byte is parsed.
 * The map holds only addresses with live connections, so it is bounded by MAX_HTTP_CONNECTIONS.
 */
export function capConnectionsPerAddress(
  server: Server,
  max: number,
  onRefused: (key: string, open: number) => void,
): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = connectionKey(socket.remoteAddress);
    const count = open.get(key) ?? 0;
    if (count >= max) {
      socket.destroy();
      onRefused(key, count);
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
