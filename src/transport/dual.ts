/**
 * BEP 32 dual stack: one Transport over an IPv4 and an IPv6 transport. Datagrams go out through
 * the transport of the destination's family; both deliver to the one handler. `address` is the
 * IPv4 one (what BEP 5 peers see); `addresses` has both.
 */
import type { Address, Family } from './address.js';
import type { DatagramHandler, Transport } from './transport.js';

export class DualTransport implements Transport {
  constructor(
    readonly v4: Transport,
    readonly v6: Transport,
  ) {
    if (v4.address.family !== 4 || v6.address.family !== 6)
      throw new TypeError('DualTransport needs an IPv4 transport and an IPv6 transport, in that order');
  }

  get address(): Address {
    return this.v4.address;
  }

  get addresses(): Address[] {
    return [this.v4.address, this.v6.address];
  }

  send(data: Uint8Array, to: Address): void {
    (to.family === 6 ? this.v6 : this.v4).send(data, to);
  }

  onMessage(handler: DatagramHandler): void {
    this.v4.onMessage(handler);
    this.v6.onMessage(handler);
  }

  onError(handler: (err: Error) => void): void {
    this.v4.onError(handler);
    this.v6.onError(handler);
  }

  async close(): Promise<void> {
    await Promise.all([this.v4.close(), this.v6.close()]);
  }
}

/** The families a transport can reach. */
export function transportFamilies(t: Transport): { n4: boolean; n6: boolean } {
  if (t instanceof DualTransport) return { n4: true, n6: true };
  const f: Family = t.address.family;
  return { n4: f === 4, n6: f === 6 };
}

/** The local address of the given family, when the transport has one. */
export function localAddressOf(t: Transport, family: Family): Address | undefined {
  if (t instanceof DualTransport) return family === 4 ? t.v4.address : t.v6.address;
  return t.address.family === family ? t.address : undefined;
}
