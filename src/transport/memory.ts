/**
 * An in-memory datagram network on an injected clock. Each endpoint gets an address on the
 * network; sending schedules delivery after a latency drawn from the network's model, or drops the
 * datagram. The simulator builds on this with latency distributions, loss, partitions and NAT.
 */
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { type Address, addressKey } from './address.js';
import type { DatagramHandler, Transport } from './transport.js';

export interface MemoryNetworkOptions {
  clock: Clock;
  random: Random;
  /** One-way delay in ms for a datagram from -> to; default 0-10 ms uniform. */
  latencyMs?: (from: Address, to: Address) => number;
  /** Probability a datagram is dropped, 0..1; default 0. */
  lossRate?: number;
  /** Probability a datagram is delivered twice, 0..1; default 0. */
  duplicateRate?: number;
  /** Return false to drop a datagram (partitions, NAT); called before loss. */
  filter?: (from: Address, to: Address) => boolean;
}

export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryTransport>();
  private nextHost = 0;
  /** Datagrams handed to the network, delivered, and dropped, for statistics. */
  readonly counters = { sent: 0, delivered: 0, dropped: 0 };

  constructor(readonly options: MemoryNetworkOptions) {}

  /** A new endpoint. Without a host, a public-looking address in a /24 of its own is allocated. */
  createTransport(host?: string, port = 6881): MemoryTransport {
    let address: Address;
    if (host) {
      address = { host, port, family: host.includes(':') ? 6 : 4 };
    } else {
      // Each host gets its own /24 (x.y.z.1), so routing-table diversity limits see distinct networks.
      const n = ++this.nextHost;
      address = { host: `${11 + ((n >> 16) & 0x3f)}.${(n >> 8) & 0xff}.${n & 0xff}.1`, port, family: 4 };
    }
    const key = addressKey(address);
    if (this.endpoints.has(key)) throw new Error(`address ${key} is already in use on this network`);
    const transport = new MemoryTransport(this, address);
    this.endpoints.set(key, transport);
    return transport;
  }

  /** @internal */
  detach(transport: MemoryTransport): void {
    this.endpoints.delete(addressKey(transport.address));
  }

  /** @internal */
  deliver(data: Uint8Array, from: Address, to: Address): void {
    const { clock, random, latencyMs, lossRate = 0, duplicateRate = 0, filter } = this.options;
    this.counters.sent++;
    if ((filter && !filter(from, to)) || (lossRate > 0 && random.float() < lossRate)) {
      this.counters.dropped++;
      return;
    }
    const copies = duplicateRate > 0 && random.float() < duplicateRate ? 2 : 1;
    // Copy once: the receiver may keep views into the bytes, and the sender may reuse its buffer.
    const bytes = data.slice();
    for (let i = 0; i < copies; i++) {
      const delay = latencyMs ? latencyMs(from, to) : random.float() * 10;
      clock.setTimeout(() => {
        const target = this.endpoints.get(addressKey(to));
        if (!target) {
          this.counters.dropped++;
          return;
        }
        this.counters.delivered++;
        target.receive(bytes, from);
      }, delay);
    }
  }
}

export class MemoryTransport implements Transport {
  private handler: DatagramHandler = () => {};
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly address: Address,
  ) {}

  send(data: Uint8Array, to: Address): void {
    if (!this.closed) this.network.deliver(data, this.address, to);
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  onError(): void {}

  /** @internal */
  receive(data: Uint8Array, from: Address): void {
    if (!this.closed) this.handler(data, from);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.network.detach(this);
    }
    return Promise.resolve();
  }
}
