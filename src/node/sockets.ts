/**
 * Binding the node's sockets: the IPv4 one as before, and (BEP 32) an IPv6 one next to it on the
 * same port when possible. Loopback nodes bind loopback in both families.
 */
import { DualTransport } from '../transport/dual.js';
import type { Transport } from '../transport/transport.js';
import { createUdpTransport } from '../transport/udp.js';
import type { DhtOptions } from './options.js';

export interface Bound {
  transport: Transport;
  /** Why no v6 socket was opened in `auto` mode (for a warning), when it was not. */
  v6Problem?: string;
}

/** Transports the caller bound already (simulator, tests), without a tick's delay. */
export function givenTransports(options: DhtOptions): Bound | undefined {
  if (!options.transport) return undefined;
  if (options.transport6) return { transport: new DualTransport(options.transport, options.transport6) };
  return { transport: options.transport };
}

export async function bindTransports(options: DhtOptions): Promise<Bound> {
  const want6 = options.ipv6 ?? 'auto';
  const given = givenTransports(options);
  if (given) return given;
  const host = options.host ?? '0.0.0.0';
  if (host.includes(':')) {
    // Bound to a v6 address: a v6-only node.
    return { transport: await createUdpTransport({ port: options.port ?? 0, host, family: 6 }) };
  }
  const v4 = await createUdpTransport({ port: options.port ?? 0, host, family: 4 });
  if (want6 === false) return { transport: v4 };
  const host6 = options.host6 ?? defaultHost6(host);
  if (host6 === undefined) {
    if (want6 === true) {
      await v4.close();
      throw new Error(
        `--ipv6: no IPv6 address to pair with ${host}; pass the host6 option (or bind to 0.0.0.0 / 127.0.0.1)`,
      );
    }
    return { transport: v4 };
  }
  try {
    const v6 = await bindSamePort(host6, v4.address.port);
    return { transport: new DualTransport(v4, v6) };
  } catch (err) {
    if (want6 === true) {
      await v4.close();
      throw err;
    }
    return { transport: v4, v6Problem: (err as Error).message };
  }
}

function defaultHost6(host: string): string | undefined {
  if (host === '0.0.0.0') return '::';
  if (host.startsWith('127.')) return '::1';
  // A specific (LAN or public) v4 address: no implied v6 address to pair with.
  return undefined;
}

async function bindSamePort(host6: string, port: number) {
  try {
    return await createUdpTransport({ port, host: host6, family: 6 });
  } catch {
    return createUdpTransport({ port: 0, host: host6, family: 6 });
  }
}
