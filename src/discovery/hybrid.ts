/**
 * The hybrid discovery client (spec §7, with what Skywire's lacked): reads go to the DHT first and
 * fall back to HTTP on a miss or an error; writes go to both (the HTTP result is returned when
 * HTTP is up); bulk queries (all entries, clients by server) go to HTTP while the DHT side is not
 * populated. Each side has a circuit breaker: after `failures` errors in a row it is skipped for a
 * back-off (doubling up to `maxBackoffMs`), then one call probes it again.
 *
 * Every read says which side served it and why a fallback happened, as an event
 * (`discovery:served`) and in `stats()`.
 */
import type { DiscEntry } from '../protocols/discovery/entry.js';
import type { Service } from '../protocols/discovery/service.js';
import type { SignedTransport } from '../protocols/discovery/transport-entry.js';
import { type Clock, systemClock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';
import { EventBus } from '../util/events.js';
import type { DhtDiscovery } from './adapter.js';
import { DiscoveryHttpError, type DiscoveryHttpClient, type Signer } from './http-client.js';

export const BREAKER_FAILURES = 3;
export const BREAKER_BACKOFF_MS = 10_000;
export const BREAKER_MAX_BACKOFF_MS = 5 * 60_000;
/** The DHT side counts as populated with at least this many contacts. */
export const POPULATED_CONTACTS = 8;

export type Side = 'dht' | 'http';
export type FallbackReason = 'miss' | 'error' | 'breaker-open' | 'unpopulated' | 'no-side';

export interface HybridEvents {
  'discovery:served': { op: string; side: Side | 'none'; reason?: FallbackReason };
  'discovery:breaker': { side: Side; state: 'open' | 'closed'; backoffMs: number };
}

export interface HybridStats {
  served: Record<Side, number>;
  /** Reads that did not end on the first side they tried, by reason. */
  fallbacks: Record<FallbackReason, number>;
  failures: Record<Side, number>;
  notFound: number;
  breakers: Record<Side, { open: boolean; backoffMs: number }>;
}

class Breaker {
  private failures = 0;
  private openUntil = 0;
  backoffMs: number;

  constructor(
    private readonly side: Side,
    private readonly clock: Clock,
    private readonly events: EventBus<HybridEvents>,
    private readonly threshold: number,
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {
    this.backoffMs = baseMs;
  }

  /** True when a call may go to this side now (closed, or open and its back-off over: a probe). */
  allow(): boolean {
    return this.clock.now() >= this.openUntil;
  }

  get open(): boolean {
    return !this.allow();
  }

  success(): void {
    if (this.failures >= this.threshold) {
      this.events.emit('discovery:breaker', { side: this.side, state: 'closed', backoffMs: this.backoffMs });
    }
    this.failures = 0;
    this.backoffMs = this.baseMs;
    this.openUntil = 0;
  }

  failure(): void {
    this.failures++;
    if (this.failures < this.threshold) return;
    // A failed probe doubles the back-off.
    if (this.failures > this.threshold) this.backoffMs = Math.min(this.backoffMs * 2, this.maxMs);
    this.openUntil = this.clock.now() + this.backoffMs;
    this.events.emit('discovery:breaker', { side: this.side, state: 'open', backoffMs: this.backoffMs });
  }
}

/** What the hybrid client asks of the HTTP side: the real client, or the simulator's stand-in. */
export type DiscoveryHttpSide = Pick<
  DiscoveryHttpClient,
  | 'entry'
  | 'transportsByEdge'
  | 'services'
  | 'availableServers'
  | 'allServers'
  | 'allEntries'
  | 'clientsByServer'
  | 'postEntry'
  | 'registerTransports'
  | 'registerService'
>;

export interface HybridOptions {
  dht?: DhtDiscovery;
  http?: DiscoveryHttpSide;
  clock?: Clock;
  breakerFailures?: number;
  breakerBackoffMs?: number;
  breakerMaxBackoffMs?: number;
}

export class HybridDiscovery {
  readonly events = new EventBus<HybridEvents>();
  private readonly breakers: Record<Side, Breaker>;
  private readonly counters: Omit<HybridStats, 'breakers'> = {
    served: { dht: 0, http: 0 },
    fallbacks: { miss: 0, error: 0, 'breaker-open': 0, unpopulated: 0, 'no-side': 0 },
    failures: { dht: 0, http: 0 },
    notFound: 0,
  };

  constructor(readonly options: HybridOptions) {
    const clock = options.clock ?? systemClock;
    const make = (side: Side): Breaker =>
      new Breaker(
        side,
        clock,
        this.events,
        options.breakerFailures ?? BREAKER_FAILURES,
        options.breakerBackoffMs ?? BREAKER_BACKOFF_MS,
        options.breakerMaxBackoffMs ?? BREAKER_MAX_BACKOFF_MS,
      );
    this.breakers = { dht: make('dht'), http: make('http') };
  }

  stats(): HybridStats {
    return {
      served: { ...this.counters.served },
      fallbacks: { ...this.counters.fallbacks },
      failures: { ...this.counters.failures },
      notFound: this.counters.notFound,
      breakers: {
        dht: { open: this.breakers.dht.open, backoffMs: this.breakers.dht.backoffMs },
        http: { open: this.breakers.http.open, backoffMs: this.breakers.http.backoffMs },
      },
    };
  }

  /**
   * Try the sides in order; a side's answer counts when `found` says so. Misses and errors move on
   * to the next side; the first reason is what the fallback is counted under.
   */
  private async read<T>(
    op: string,
    order: Side[],
    calls: Partial<Record<Side, () => Promise<T>>>,
    found: (v: T) => boolean,
    firstReason?: FallbackReason,
  ): Promise<T | undefined> {
    let reason: FallbackReason | undefined = firstReason;
    let last: T | undefined;
    let lastError: unknown;
    for (const side of order) {
      const call = calls[side];
      if (!call) {
        reason ??= 'no-side';
        continue;
      }
      const breaker = this.breakers[side];
      if (!breaker.allow()) {
        reason ??= 'breaker-open';
        continue;
      }
      try {
        const value = await call();
        breaker.success();
        if (found(value)) {
          this.counters.served[side]++;
          if (reason) this.counters.fallbacks[reason]++;
          this.events.emit('discovery:served', { op, side, ...(reason ? { reason } : {}) });
          return value;
        }
        last = value;
        reason ??= 'miss';
      } catch (err) {
        // A 404 from HTTP is an answer (not there), not a failure of the side.
        if (err instanceof DiscoveryHttpError && err.status === 404) {
          breaker.success();
          reason ??= 'miss';
          continue;
        }
        breaker.failure();
        this.counters.failures[side]++;
        lastError = err;
        reason ??= 'error';
      }
    }
    this.counters.notFound++;
    this.events.emit('discovery:served', { op, side: 'none', ...(reason ? { reason } : {}) });
    // Both sides failed (none answered, not even "not found"): the caller should know.
    if (last === undefined && lastError !== undefined && reason !== 'miss') throw lastError;
    return last;
  }

  private dhtPopulated(): boolean {
    const dht = this.options.dht;
    return (
      dht !== undefined && (dht.node.store.options.fullNode || dht.node.table.size >= POPULATED_CONTACTS)
    );
  }

  // --- reads ---

  async entry(pk: Uint8Array): Promise<DiscEntry | undefined> {
    const { dht, http } = this.options;
    return this.read<DiscEntry | undefined>(
      'entry',
      ['dht', 'http'],
      { ...(dht ? { dht: () => dht.entry(pk) } : {}), ...(http ? { http: () => http.entry(pk) } : {}) },
      (e) => e !== undefined,
    );
  }

  async transportsByEdge(edge: Uint8Array): Promise<SignedTransport[]> {
    const { dht, http } = this.options;
    return (
      (await this.read<SignedTransport[]>(
        'transports',
        ['dht', 'http'],
        {
          ...(dht ? { dht: () => dht.transportsByEdge(edge) } : {}),
          ...(http ? { http: () => http.transportsByEdge(edge) } : {}),
        },
        (l) => l.length > 0,
      )) ?? []
    );
  }

  async servicesOf(pk: Uint8Array): Promise<Service[]> {
    const { dht, http } = this.options;
    return (
      (await this.read<Service[]>(
        'services',
        ['dht', 'http'],
        {
          ...(dht ? { dht: () => dht.services(pk) } : {}),
          ...(http
            ? {
                http: async () =>
                  (await http.services()).filter((s) => Buffer.from(s.publicKey).equals(Buffer.from(pk))),
              }
            : {}),
        },
        (l) => l.length > 0,
      )) ?? []
    );
  }

  /** Server lists: the DHT's cache when it has any, else HTTP (Skywire's order). */
  async availableServers(): Promise<DiscEntry[]> {
    const { dht, http } = this.options;
    return (
      (await this.read<DiscEntry[]>(
        'available_servers',
        ['dht', 'http'],
        {
          ...(dht ? { dht: () => dht.availableServers() } : {}),
          ...(http ? { http: () => http.availableServers() } : {}),
        },
        (l) => l.length > 0,
      )) ?? []
    );
  }

  async allServers(): Promise<DiscEntry[]> {
    const { dht, http } = this.options;
    return (
      (await this.read<DiscEntry[]>(
        'all_servers',
        ['dht', 'http'],
        {
          ...(dht ? { dht: () => dht.allServers() } : {}),
          ...(http ? { http: () => http.allServers() } : {}),
        },
        (l) => l.length > 0,
      )) ?? []
    );
  }

  /** Every entry key: HTTP while the DHT is not populated; a full node answers from its store. */
  async allEntries(): Promise<string[]> {
    const { dht, http } = this.options;
    const dhtCall = dht
      ? async () => (await dht.localEntries()).map((e) => Buffer.from(e.static).toString('hex'))
      : undefined;
    const populated = this.dhtPopulated() && dht?.node.store.options.fullNode === true;
    return (
      (await this.read<string[]>(
        'entries',
        populated ? ['dht', 'http'] : ['http', 'dht'],
        { ...(dhtCall ? { dht: dhtCall } : {}), ...(http ? { http: () => http.allEntries() } : {}) },
        (l) => l.length > 0,
        populated ? undefined : 'unpopulated',
      )) ?? []
    );
  }

  async clientsByServer(server: Uint8Array): Promise<string[]> {
    const { http } = this.options;
    return (
      (await this.read<string[]>(
        'clients',
        ['http'],
        { ...(http ? { http: () => http.clientsByServer(server) } : {}) },
        () => true,
      )) ?? []
    );
  }

  // --- writes: both sides; the HTTP result is the answer when HTTP is there ---

  private async both(
    dhtCall: (() => Promise<unknown>) | undefined,
    httpCall: (() => Promise<unknown>) | undefined,
  ): Promise<void> {
    const run = async (side: Side, call: (() => Promise<unknown>) | undefined): Promise<unknown> => {
      if (!call) return undefined;
      if (!this.breakers[side].allow())
        return new KadmiumError('BREAKER_OPEN', `${side} side skipped after repeated failures`);
      try {
        await call();
        this.breakers[side].success();
        return undefined;
      } catch (err) {
        this.breakers[side].failure();
        this.counters.failures[side]++;
        return err;
      }
    };
    const [dhtErr, httpErr] = await Promise.all([run('dht', dhtCall), run('http', httpCall)]);
    if (httpCall && httpErr) {
      if (!dhtCall || dhtErr) throw httpErr;
    }
    if (!httpCall && dhtErr) throw dhtErr;
  }

  async postEntry(entry: DiscEntry): Promise<void> {
    const { dht, http } = this.options;
    await this.both(
      dht ? () => dht.postEntry(entry) : undefined,
      http ? () => http.postEntry(entry) : undefined,
    );
  }

  async registerTransports(
    signer: Signer,
    transports: SignedTransport[],
    all: SignedTransport[] = transports,
  ): Promise<void> {
    const { dht, http } = this.options;
    await this.both(
      dht ? () => dht.publishTransports(all) : undefined,
      http ? () => http.registerTransports(signer, transports) : undefined,
    );
  }

  async registerServices(signer: Signer, services: Service[]): Promise<void> {
    const { dht, http } = this.options;
    await this.both(
      dht ? () => dht.publishServices(services) : undefined,
      http ? async () => Promise.all(services.map((s) => http.registerService(signer, s))) : undefined,
    );
  }
}
