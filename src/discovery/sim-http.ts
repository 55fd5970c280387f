/**
 * The discovery server's HTTP side as the simulator sees it: the server's own rules
 * (DiscoveryState) behind one round trip of virtual time, answering the way DiscoveryHttpClient
 * does (a missing entry is a 404, a stopped server is unreachable). The HTTP parsing and request
 * signing are not simulated: the server tests cover them, and they cannot change which side of
 * the hybrid client answers a read.
 */
import type { DiscEntry } from '../protocols/discovery/entry.js';
import type { Service } from '../protocols/discovery/service.js';
import type { SignedTransport } from '../protocols/discovery/transport-entry.js';
import { toHex } from '../util/bytes.js';
import { type Clock, sleep } from '../util/clock.js';
import { DiscoveryHttpError, type Signer } from './http-client.js';
import type { DiscoveryHttpSide } from './hybrid.js';
import type { DiscoveryState } from './state.js';

/** One HTTP round trip from a visor to the discovery server, virtual ms. */
export const SIM_HTTP_RTT_MS = 120;

export class SimulatedHttpSide implements DiscoveryHttpSide {
  /** False once the server has stopped: every call is then unreachable. */
  up = true;
  /** Requests answered (whatever the answer). */
  requests = 0;

  constructor(
    private readonly state: DiscoveryState,
    private readonly clock: Clock,
  ) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    await sleep(this.clock, SIM_HTTP_RTT_MS);
    if (!this.up) throw new DiscoveryHttpError(0, 'the simulated discovery server is stopped');
    this.requests++;
    return fn();
  }

  entry(pk: Uint8Array): Promise<DiscEntry> {
    return this.call(async () => {
      const e = await this.state.getEntry(pk);
      if (!e) throw new DiscoveryHttpError(404, `entry ${toHex(pk)} not found`);
      return e;
    });
  }

  transportsByEdge(edge: Uint8Array): Promise<SignedTransport[]> {
    return this.call(() => this.state.transportsByEdge(edge));
  }

  services(type?: string): Promise<Service[]> {
    return this.call(() => this.state.services(type === undefined ? {} : { type }));
  }

  availableServers(): Promise<DiscEntry[]> {
    return this.call(() => this.state.availableServers());
  }

  allServers(): Promise<DiscEntry[]> {
    return this.call(() => this.state.servers());
  }

  allEntries(): Promise<string[]> {
    return this.call(() => this.state.entryKeys());
  }

  clientsByServer(server: Uint8Array): Promise<string[]> {
    return this.call(async () => (await this.state.clientsByServer()).get(toHex(server)) ?? []);
  }

  postEntry(entry: DiscEntry): Promise<void> {
    return this.call(async () => {
      const r = await this.state.postEntry(entry);
      if (!r.ok) throw new DiscoveryHttpError(r.status, r.message);
    });
  }

  registerTransports(_signer: Signer, transports: readonly SignedTransport[]): Promise<SignedTransport[]> {
    return this.call(() => this.state.registerTransports(transports));
  }

  registerService(_signer: Signer, service: Service): Promise<void> {
    return this.call(() => this.state.putService(service));
  }
}
