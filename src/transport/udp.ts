import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { type Address, type Family, makeAddress } from './address.js';
import type { DatagramHandler, Transport } from './transport.js';

export interface UdpOptions {
  /** Port to bind; 0 picks a free one. */
  port?: number;
  /** Address to bind; defaults to 0.0.0.0 (or :: for family 6). */
  host?: string;
  family?: Family;
}

/**
 * dgram passes the destination of every send through `lookup`; Node's default (dns.lookup)
 * answers even an IP literal only on the next tick, which costs a tick per datagram. kadmium only
 * ever sends to IP literals, so those are answered at once (Node itself sends synchronously on a
 * connected socket); anything else still goes to DNS.
 */
const lookupLiteral: NonNullable<SocketOptions['lookup']> = (host, options, callback) => {
  const family = isIP(host);
  if (family !== 0) callback(null, host, family);
  else lookup(host, options, callback);
};

/** A UDP socket bound and ready. Rejects with a clear error when the port is taken. */
export async function createUdpTransport(options: UdpOptions = {}): Promise<UdpTransport> {
  const family = options.family ?? 4;
  const socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only: family === 6,
    lookup: lookupLiteral,
  });
  const host = options.host ?? (family === 6 ? '::' : '0.0.0.0');
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${options.port} is already in use; pick another with --port or use --port 0`
          : err.code === 'EACCES'
            ? `not allowed to bind port ${options.port}; ports below 1024 need privileges`
            : err.message;
      reject(new Error(`cannot bind UDP ${host}:${options.port ?? 0}: ${hint}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.bind(options.port ?? 0, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  return new UdpTransport(socket, family);
}

export class UdpTransport implements Transport {
  readonly address: Address;
  private handler: DatagramHandler = () => {};
  private errorHandler: (err: Error) => void = () => {};
  private closed = false;

  constructor(
    private readonly socket: Socket,
    family: Family,
  ) {
    const local = socket.address();
    this.address = makeAddress(local.address, local.port);
    socket.on('message', (msg, rinfo) => {
      let from: Address;
      try {
        from = { host: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : family };
      } catch {
        return;
      }
      // A plain Uint8Array view, not the Buffer: code above copies what it keeps with .slice(),
      // which on a Buffer is a view that would pin the whole datagram in routing tables.
      this.handler(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), from);
    });
    socket.on('error', (err) => this.errorHandler(err));
  }

  send(data: Uint8Array, to: Address): void {
    if (this.closed) return;
    // Keep the callback: without one, dgram drops a send the kernel refuses at once (EACCES,
    // ENETUNREACH) without an 'error' event, and the failure would go unreported.
    this.socket.send(data, to.port, to.host, (err) => {
      if (err) this.errorHandler(err);
    });
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  onError(handler: (err: Error) => void): void {
    this.errorHandler = handler;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
