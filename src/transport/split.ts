/**
 * One socket, two protocols: datagrams a predicate picks (STUN, by its magic cookie) go to a side
 * handler, everything else to the main one. The node's STUN and TURN traffic must leave from the
 * DHT's own socket, or the mapping they discover is some other socket's.
 */
import type { Address } from './address.js';
import type { DatagramHandler, Transport } from './transport.js';

export class SplitTransport implements Transport {
  private main: DatagramHandler = () => undefined;
  private side: DatagramHandler = () => undefined;

  constructor(
    readonly inner: Transport,
    private readonly isSide: (data: Uint8Array) => boolean,
  ) {
    inner.onMessage((data, from) => (this.isSide(data) ? this.side(data, from) : this.main(data, from)));
  }

  get address(): Address {
    return this.inner.address;
  }

  /** Set by the owner: returns true when it sent the datagram some other way (through a relay). */
  route: ((data: Uint8Array, to: Address) => boolean) | undefined;

  send(data: Uint8Array, to: Address): void {
    if (this.route?.(data, to)) return;
    this.inner.send(data, to);
  }

  /** Hand the main receiver a datagram that arrived some other way (through a relay). */
  deliver(data: Uint8Array, from: Address): void {
    this.main(data, from);
  }

  onMessage(handler: DatagramHandler): void {
    this.main = handler;
  }

  /** The receiver of the datagrams the predicate picks. */
  onSide(handler: DatagramHandler): void {
    this.side = handler;
  }

  onError(handler: (err: Error) => void): void {
    this.inner.onError(handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
