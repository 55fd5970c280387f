/**
 * The NAT in front of a simulated endpoint, modelled on the netns test bed's NAT boxes
 * (test/nat/testbed.ts; RFC 4787's mapping and filtering behaviours):
 *
 * | type               | mapping (what peers see)          | filtering (who gets in)               |
 * |--------------------|-----------------------------------|---------------------------------------|
 * | full-cone          | the endpoint's address            | anyone, while any mapping is open     |
 * | address-restricted | the endpoint's address            | IPs we sent to                        |
 * | port-restricted    | the endpoint's address            | exact addresses we sent to            |
 * | symmetric          | a fresh port per destination      | only that destination, on that port   |
 *
 * A mapping opens on an outbound datagram and lasts `mappingMs` after the last one. The cone
 * types keep the endpoint's own port (the bed's SNAT keeps ports), so a node's announced
 * address is its external one; a symmetric NAT shows each destination another port, as
 * `MASQUERADE --random-fully` does.
 */
import { type Address, addressKey } from '../transport/address.js';
import type { Random } from '../util/random.js';

export type SimNatType = 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric';
export const SIM_NAT_TYPES: readonly SimNatType[] = [
  'full-cone',
  'address-restricted',
  'port-restricted',
  'symmetric',
];

/** Mappings kept per endpoint before expired ones are swept. */
export const NAT_SWEEP_AT = 256;
/** Mappings an endpoint may hold at once: past this the oldest is dropped (a small router's table). */
export const MAX_NAT_MAPPINGS = 4_096;
/** The port range a symmetric NAT picks external ports from. */
const PORT_MIN = 1_024;
const PORT_SPAN = 65_536 - PORT_MIN;

interface Mapping {
  until: number;
  /** Symmetric: the external port towards this destination. */
  port: number;
}

/** Where datagrams to a symmetric NAT's external port go: the endpoint, and the one peer let in. */
export interface PortAlias {
  readonly owner: object;
  readonly peer: string;
}

export class NatState {
  /** Outbound mappings: destination "host:port" -> expiry (and port when symmetric). */
  private readonly mappings = new Map<string, Mapping>();
  /** Address-restricted: destination host -> expiry. */
  private readonly hosts = new Map<string, number>();
  /** Full cone: the latest expiry of any mapping. */
  private anyUntil = 0;

  constructor(
    readonly type: SimNatType,
    private readonly self: Address,
    private readonly owner: object,
    /** The network's table of symmetric external ports, shared by all endpoints. */
    private readonly aliases: Map<string, PortAlias>,
    private readonly random: Random,
  ) {}

  /**
   * An outbound datagram to `to` at `now`: opens or refreshes the mapping, and returns the
   * address the receiver sees it come from.
   */
  outbound(to: Address, now: number, mappingMs: number): Address {
    const until = now + mappingMs;
    this.anyUntil = until;
    const key = addressKey(to);
    if (this.type === 'address-restricted') this.remember(this.hosts, to.host, until, now);
    const existing = this.mappings.get(key);
    if (existing && existing.until >= now) {
      existing.until = until;
      return this.type === 'symmetric' ? { ...this.self, port: existing.port } : this.self;
    }
    if (existing) this.drop(key, existing);
    if (this.mappings.size >= NAT_SWEEP_AT) this.sweep(now);
    const port = this.type === 'symmetric' ? this.freshPort(key) : this.self.port;
    this.mappings.set(key, { until, port });
    return this.type === 'symmetric' ? { ...this.self, port } : this.self;
  }

  /** May a datagram from `from`, sent to our external `port`, get in at `now`? */
  admits(from: Address, port: number, now: number): boolean {
    switch (this.type) {
      case 'full-cone':
        return port === this.self.port && this.anyUntil >= now;
      case 'address-restricted':
        return port === this.self.port && (this.hosts.get(from.host) ?? -1) >= now;
      case 'port-restricted':
        return port === this.self.port && (this.mappings.get(addressKey(from))?.until ?? -1) >= now;
      case 'symmetric': {
        const m = this.mappings.get(addressKey(from));
        return m !== undefined && m.port === port && m.until >= now;
      }
    }
  }

  /** Forget every mapping (the endpoint closed). */
  clear(): void {
    for (const [key, m] of this.mappings) this.drop(key, m);
    this.hosts.clear();
    this.anyUntil = 0;
  }

  private freshPort(peer: string): number {
    // Bounded: the table holds at most MAX_NAT_MAPPINGS ports per host, far fewer than the range.
    for (let tries = 0; tries < 64; tries++) {
      const port = PORT_MIN + this.random.int(PORT_SPAN);
      const key = `${this.self.host}:${port}`;
      if (port === this.self.port || this.aliases.has(key)) continue;
      this.aliases.set(key, { owner: this.owner, peer });
      return port;
    }
    throw new Error(`symmetric NAT at ${this.self.host} found no free port in 64 tries`);
  }

  private drop(key: string, m: Mapping): void {
    this.mappings.delete(key);
    if (this.type === 'symmetric') this.aliases.delete(`${this.self.host}:${m.port}`);
  }

  private sweep(now: number): void {
    for (const [key, m] of this.mappings) if (m.until < now) this.drop(key, m);
    for (const [host, until] of this.hosts) if (until < now) this.hosts.delete(host);
    while (this.mappings.size >= MAX_NAT_MAPPINGS) {
      const [key, m] = this.mappings.entries().next().value as [string, Mapping];
      this.drop(key, m);
    }
  }

  private remember(map: Map<string, number>, key: string, until: number, now: number): void {
    if (map.size >= NAT_SWEEP_AT && !map.has(key)) {
      for (const [k, u] of map) if (u < now) map.delete(k);
      while (map.size >= MAX_NAT_MAPPINGS) map.delete(map.keys().next().value as string);
    }
    map.set(key, until);
  }
}
