/**
 * The simulated internet: endpoints with public IPv4 addresses and a site on the globe, datagrams
 * delayed by a latency model on the injected clock, random loss and duplication, partitions, and
 * NATed endpoints.
 *
 * A NATed endpoint sits behind one of the test bed's NAT types (sim/nat-model.ts; by default a
 * port-restricted cone): sending to a remote address opens a mapping for `natMappingMs`, and only
 * datagrams the mapping's filtering allows get in. So it can query others and receive their
 * replies, but unsolicited queries to it are dropped. A symmetric NAT shows every destination
 * another external port; datagrams to such a port reach the endpoint behind it.
 *
 * Each endpoint is a Transport, so nodes run on it unmodified. Datagrams are handed over without
 * copying: every sender in this code base passes a fresh buffer it never touches again.
 */
import { type Address, addressKey } from '../transport/address.js';
import type { DatagramHandler, Transport } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { DatagramCounts } from './datagram-kinds.js';
import { internetLatency, type LatencyModel, type Site } from './latency.js';
import { NatState, type PortAlias, type SimNatType } from './nat-model.js';

export interface SimNetworkOptions {
  clock: Clock;
  random: Random;
  latency?: LatencyModel;
  /** Probability a datagram is lost, 0..1. */
  lossRate?: number;
  /** Probability a datagram arrives twice (each copy with its own delay), 0..1. */
  duplicateRate?: number;
  /** How long a NAT keeps a mapping open after the last outbound datagram, ms. */
  natMappingMs?: number;
}

export interface EndpointOptions {
  /** An explicit IPv4 address; by default a random unused public one. */
  host?: string;
  port?: number;
  /** Behind a NAT (true: port-restricted cone): unsolicited inbound datagrams are dropped. */
  nat?: boolean | SimNatType;
}

export const NAT_MAPPING_MS = 120_000;

export interface NetworkCounters {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** Dropped by a partition or filter. */
  partitioned: number;
  /** Unsolicited datagrams a NAT dropped. */
  natDropped: number;
  /** Sent to an address nobody (or no longer anybody) listens on. */
  unreachable: number;
}

export class SimNetwork {
  lossRate: number;
  duplicateRate: number;
  readonly latency: LatencyModel;
  readonly counters: NetworkCounters = {
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    partitioned: 0,
    natDropped: 0,
    unreachable: 0,
  };
  /** Datagrams sent, by kind (query method, reply, error): what a run's traffic is made of. */
  readonly kinds = new DatagramCounts();
  /** Extra drop rule (return false to drop), checked after partitions. */
  filter: ((from: SimEndpoint, to: SimEndpoint) => boolean) | undefined;
  private readonly endpoints = new Map<string, SimEndpoint>();
  private readonly usedHosts = new Set<number>();
  private groupOf: ((e: SimEndpoint) => number) | undefined;
  private readonly natMappingMs: number;
  /** Symmetric NATs' external ports: "host:port" -> the endpoint behind it. */
  private readonly aliases = new Map<string, PortAlias>();

  constructor(private readonly options: SimNetworkOptions) {
    this.latency = options.latency ?? internetLatency();
    this.lossRate = options.lossRate ?? 0;
    this.duplicateRate = options.duplicateRate ?? 0;
    this.natMappingMs = options.natMappingMs ?? NAT_MAPPING_MS;
  }

  get clock(): Clock {
    return this.options.clock;
  }

  /** Endpoints currently attached. */
  get size(): number {
    return this.endpoints.size;
  }

  createEndpoint(opts: EndpointOptions = {}): SimEndpoint {
    const host = opts.host ?? this.allocateHost();
    const address: Address = { host, port: opts.port ?? 6881, family: 4 };
    const key = addressKey(address);
    if (this.endpoints.has(key)) throw new Error(`address ${key} is already in use on this network`);
    const natType = opts.nat === true ? 'port-restricted' : opts.nat || undefined;
    const endpoint = new SimEndpoint(this, address, this.latency.site(this.options.random), natType);
    if (natType)
      endpoint.natState = new NatState(natType, address, endpoint, this.aliases, this.options.random);
    if (this.groupOf) endpoint.group = this.groupOf(endpoint);
    this.endpoints.set(key, endpoint);
    return endpoint;
  }

  /** The endpoint datagrams to `address` reach (behind a symmetric NAT: any of its external ports). */
  endpoint(address: Address): SimEndpoint | undefined {
    const key = addressKey(address);
    return this.endpoints.get(key) ?? (this.aliases.get(key)?.owner as SimEndpoint | undefined);
  }

  /** Split the network: datagrams between endpoints of different groups are dropped until heal(). */
  partition(groupOf: (e: SimEndpoint) => number): void {
    this.groupOf = groupOf;
    for (const e of this.endpoints.values()) e.group = groupOf(e);
  }

  heal(): void {
    this.groupOf = undefined;
    for (const e of this.endpoints.values()) e.group = 0;
  }

  get partitioned(): boolean {
    return this.groupOf !== undefined;
  }

  /** @internal */
  detach(endpoint: SimEndpoint): void {
    const key = addressKey(endpoint.address);
    if (this.endpoints.get(key) === endpoint) this.endpoints.delete(key);
  }

  /** @internal */
  send(from: SimEndpoint, data: Uint8Array, to: Address): void {
    const c = this.counters;
    const { clock, random } = this.options;
    c.sent++;
    this.kinds.add(data);
    from.sent++;
    const seen = from.natState ? from.natState.outbound(to, clock.now(), this.natMappingMs) : from.address;
    const target = this.endpoint(to);
    if (!target) {
      c.unreachable++;
      return;
    }
    if ((this.groupOf && from.group !== target.group) || (this.filter && !this.filter(from, target))) {
      c.partitioned++;
      return;
    }
    if (this.lossRate > 0 && random.float() < this.lossRate) {
      c.lost++;
      return;
    }
    const copies = this.duplicateRate > 0 && random.float() < this.duplicateRate ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let i = 0; i < copies; i++) {
      const delay = this.latency.oneWayMs(from.site, target.site, random);
      clock.setTimeout(() => target.receive(data, seen, to.port), delay);
    }
  }

  private allocateHost(): string {
    const { random } = this.options;
    for (;;) {
      const a = 1 + random.int(223);
      const b = random.int(256);
      // Public unicast only: skip private, loopback, CGNAT, link-local and reserved ranges.
      if (a === 10 || a === 127 || a === 0) continue;
      if ((a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)) continue;
      if (a === 100 && b >= 64 && b <= 127) continue;
      const n = (((a << 24) | (b << 16) | (random.int(256) << 8) | (1 + random.int(254))) >>> 0) as number;
      if (this.usedHosts.has(n)) continue;
      this.usedHosts.add(n);
      return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    }
  }
}

export class SimEndpoint implements Transport {
  /** Partition group (0 when the network is whole). */
  group = 0;
  /** Datagrams this endpoint has sent. */
  sent = 0;
  /** @internal The NAT in front of it, when there is one. */
  natState: NatState | undefined;
  private handler: DatagramHandler = () => {};
  private closed = false;

  constructor(
    private readonly network: SimNetwork,
    readonly address: Address,
    readonly site: Site,
    readonly natType: SimNatType | undefined,
  ) {}

  /** Behind any NAT. */
  get nat(): boolean {
    return this.natType !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(data: Uint8Array, to: Address): void {
    if (!this.closed) this.network.send(this, data, to);
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  onError(): void {}

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.natState?.clear();
      this.network.detach(this);
    }
    return Promise.resolve();
  }

  /** @internal */
  receive(data: Uint8Array, from: Address, port: number): void {
    const counters = this.network.counters;
    if (this.closed) {
      counters.unreachable++;
      return;
    }
    if (this.natState && !this.natState.admits(from, port, this.network.clock.now())) {
      counters.natDropped++;
      return;
    }
    counters.delivered++;
    this.handler(data, from);
  }
}
