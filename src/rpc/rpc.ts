/**
 * The KRPC engine: sends queries and matches replies (with timeout, one retry and a "short
 * timeout" signal), hands inbound queries to one handler, answers malformed messages with 203,
 * rate-limits inbound queries per IP, and counts everything per method.
 *
 * It knows envelopes, not methods: what a query means is the protocol layer's business.
 */
import { type Address, addressKey } from '../transport/address.js';
import type { Transport } from '../transport/transport.js';
import type { Clock, Timer } from '../util/clock.js';
import { AbortError, ClosedError, KadmiumError, KrpcRemoteError, TimeoutError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { BDict } from '../wire/bencode.js';
import {
  decodeKrpc,
  encodeError,
  encodeQuery,
  encodeResponse,
  KrpcErrorCode,
  type KrpcQuery,
} from '../wire/krpc.js';
import {
  DEFAULT_RATE_LIMIT,
  DEFAULT_SUBNET_LIMIT,
  isLoopbackHost,
  RateLimiter,
  type RateLimitOptions,
  rateLimitKey,
  subnetKey,
} from './rate-limit.js';
import { MethodStats } from './stats.js';
import { TransactionTable } from './transactions.js';

/** Events the RPC layer reports; the node's event bus carries them. */
export interface RpcEvents {
  'query:out': { method: string; to: Address };
  'query:in': { method: string; from: Address };
  'response:in': { method: string; from: Address; rttMs: number };
  'query:timeout': { method: string; to: Address };
  'query:error': { method: string; from: Address; code: number; message: string };
  'message:dropped': { reason: 'malformed' | 'unsolicited' | 'rate-limited'; from: Address; detail?: string };
}

/** The slice of an event bus the RPC layer needs. */
export interface RpcEmitter {
  has(event: keyof RpcEvents): boolean;
  emit<K extends keyof RpcEvents>(event: K, payload: RpcEvents[K]): void;
}

export const REQUEST_TIMEOUT_MS = 2_000;
export const SHORT_TIMEOUT_MS = 500;
export const MAX_IN_FLIGHT = 4_096;

export interface RpcOptions {
  transport: Transport;
  clock: Clock;
  random: Random;
  events?: RpcEmitter;
  /** Wait per attempt before retrying or giving up. */
  timeoutMs?: number;
  /** Re-sends after the first attempt times out (BEP 5 practice: one). */
  retries?: number;
  /** After this long a query is "slow": lookups stop counting it against their parallelism. */
  shortTimeoutMs?: number;
  maxInFlight?: number;
  /** Client version string sent as `v`. */
  version?: Uint8Array;
  /** BEP 43: mark our queries `ro = 1`. */
  readOnly?: boolean;
  /** Per-source (IPv4 address, IPv6 /64) limit on inbound queries; false turns it off. */
  rateLimit?: RateLimitOptions | false;
  /** Apply the rate limit to loopback senders too (off by default: they are this machine). */
  rateLimitLoopback?: boolean;
  /**
   * Told when the limiter starts dropping a source's queries (its first drop in LIMITED_FOR_MS),
   * with the source's key (`rateLimitKey`): the node forgets the contacts it holds there.
   */
  onLimited?: (key: string) => void;
  /**
   * Inbound methods counted by name in `stats` (default the Mainline KRPC methods); every other
   * name a sender makes up is counted as `other`.
   */
  knownMethods?: readonly string[];
  /**
   * Per-destination short timeout, ms (latency-aware lookups: kademlia/rtt.ts); at most the
   * query's full timeout. Default: `shortTimeoutMs` for everyone.
   */
  shortTimeoutFor?: (to: Address) => number;
  /** Told each RTT measured on a query's first and only send (Karn's rule: retries are ambiguous). */
  onRtt?: (from: Address, rttMs: number) => void;
}

export interface QueryOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  retries?: number | undefined;
  /** Called once when the query passes the short timeout without a reply. */
  onSlow?: (() => void) | undefined;
}

export interface QueryReply {
  r: BDict;
  from: Address;
  /** BEP 42: how the responder saw our address (compact), when it said. */
  ip?: Uint8Array | undefined;
  rttMs: number;
}

interface Pending {
  method: string;
  data: Uint8Array;
  sentAt: number;
  attempts: number;
  resolve: (reply: QueryReply) => void;
  reject: (err: Error) => void;
  timer?: Timer;
  slowTimer?: Timer | undefined;
  cleanup: () => void;
}

export type QueryHandler = (query: KrpcQuery, from: Address) => void;

export class Rpc {
  readonly stats: MethodStats;
  private readonly transactions: TransactionTable<Pending>;
  private readonly limiter: RateLimiter | undefined;
  /** The per-/24 (/48) budget above the per-source one (RateLimitOptions.subnet). */
  private readonly subnetLimiter: RateLimiter | undefined;
  private handler: QueryHandler = () => {};
  private closed = false;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly shortTimeoutMs: number;

  constructor(private readonly options: RpcOptions) {
    this.stats = new MethodStats(options.knownMethods);
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.retries = options.retries ?? 1;
    this.shortTimeoutMs = options.shortTimeoutMs ?? SHORT_TIMEOUT_MS;
    const start = options.random.int(0x10000);
    this.transactions = new TransactionTable(start, options.maxInFlight ?? MAX_IN_FLIGHT);
    this.limiter =
      options.rateLimit === false
        ? undefined
        : new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT, options.onLimited);
    const limit = options.rateLimit === false ? undefined : (options.rateLimit ?? DEFAULT_RATE_LIMIT);
    const subnet = limit?.subnet === undefined ? DEFAULT_SUBNET_LIMIT : limit.subnet;
    this.subnetLimiter =
      limit && subnet
        ? new RateLimiter({ ...subnet, maxTracked: limit.maxTracked, subnet: false })
        : undefined;
    options.transport.onMessage((data, from) => this.receive(data, from));
  }

  get address(): Address {
    return this.options.transport.address;
  }

  get inFlight(): number {
    return this.transactions.size;
  }

  onQuery(handler: QueryHandler): void {
    this.handler = handler;
  }

  /** Send a query and wait for its reply. Rejects with TimeoutError, KrpcRemoteError, AbortError or ClosedError. */
  query(to: Address, method: string, args: BDict, opts: QueryOptions = {}): Promise<QueryReply> {
    if (this.closed) return Promise.reject(new ClosedError());
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new AbortError());
    return new Promise<QueryReply>((resolve, reject) => {
      const pending: Pending = {
        method,
        data: new Uint8Array(0),
        sentAt: this.options.clock.now(),
        attempts: 1,
        resolve,
        reject,
        cleanup: () => {},
      };
      const tx = this.transactions.add(to, pending);
      if (!tx) {
        reject(
          new KadmiumError(
            'RPC_BUSY',
            `too many queries in flight (${this.transactions.capacity}); retry later`,
          ),
        );
        return;
      }
      const { events } = this.options;
      pending.data = encodeQuery(tx.tid, method, args, {
        v: this.options.version,
        ro: this.options.readOnly,
      });
      const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
      const retries = opts.retries ?? this.retries;
      const stats = this.stats.out(method);
      const finish = (): void => {
        this.transactions.delete(tx);
        pending.timer?.cancel();
        pending.slowTimer?.cancel();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        finish();
        reject(new AbortError());
      };
      const onTimeout = (): void => {
        if (pending.attempts <= retries && !this.closed) {
          pending.attempts++;
          stats.tx++;
          this.options.transport.send(pending.data, to);
          pending.timer = this.options.clock.setTimeout(onTimeout, timeoutMs);
          return;
        }
        finish();
        stats.timeouts++;
        if (events?.has('query:timeout')) events.emit('query:timeout', { method, to });
        reject(
          new TimeoutError(
            `no reply to ${method} from ${addressKey(to)} after ${pending.attempts} attempt(s)`,
          ),
        );
      };
      pending.cleanup = finish;
      pending.timer = this.options.clock.setTimeout(onTimeout, timeoutMs);
      const shortTimeoutMs = this.options.shortTimeoutFor?.(to) ?? this.shortTimeoutMs;
      if (opts.onSlow && shortTimeoutMs < timeoutMs) {
        const onSlow = opts.onSlow;
        pending.slowTimer = this.options.clock.setTimeout(onSlow, shortTimeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      stats.tx++;
      if (events?.has('query:out')) events.emit('query:out', { method, to });
      this.options.transport.send(pending.data, to);
    });
  }

  /** Answer a query. `ip` carries the requester's address back (BEP 42). */
  respond(to: Address, query: KrpcQuery, r: BDict, ip?: Uint8Array): void {
    if (this.closed) return;
    this.stats.in(query.q).tx++;
    this.options.transport.send(encodeResponse(query.t, r, { v: this.options.version, ip }), to);
  }

  /** Answer a query (or an unreadable message, with an empty t) with a KRPC error. */
  error(to: Address, t: Uint8Array, code: number, message: string, method?: string): void {
    if (this.closed) return;
    if (method !== undefined) this.stats.in(method).errors++;
    this.options.transport.send(encodeError(t, code, message, { v: this.options.version }), to);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const tx of [...this.transactions.values()]) {
      tx.data.cleanup();
      tx.data.reject(new ClosedError('the node closed while this query was in flight'));
    }
    await this.options.transport.close();
  }

  private receive(data: Uint8Array, from: Address): void {
    if (this.closed) return;
    const decoded = decodeKrpc(data);
    const { events } = this.options;
    if (!decoded.ok) {
      this.stats.dropped.malformed++;
      if (events?.has('message:dropped'))
        events.emit('message:dropped', { reason: 'malformed', from, detail: decoded.error });
      // Only answer senders that speak bencoded dicts; raw garbage gets silence (no reflection).
      // BEP 43: a read-only node answers nothing, not even errors.
      if (decoded.replyable && !this.options.readOnly && this.allow(from)) {
        this.error(from, decoded.t ?? new Uint8Array(0), KrpcErrorCode.Protocol, decoded.error);
      }
      return;
    }
    const message = decoded.message;
    if (message.y === 'q') {
      if (!this.allow(from)) {
        this.stats.dropped.rateLimited++;
        if (events?.has('message:dropped')) events.emit('message:dropped', { reason: 'rate-limited', from });
        return;
      }
      this.stats.in(message.q).rx++;
      if (events?.has('query:in')) events.emit('query:in', { method: message.q, from });
      this.handler(message, from);
      return;
    }
    const tx = this.transactions.match(message.t, from);
    if (!tx) {
      this.stats.dropped.unsolicited++;
      if (events?.has('message:dropped')) events.emit('message:dropped', { reason: 'unsolicited', from });
      return;
    }
    const pending = tx.data;
    pending.cleanup();
    const stats = this.stats.out(pending.method);
    if (message.y === 'r') {
      const rttMs = this.options.clock.now() - pending.sentAt;
      stats.rx++;
      if (pending.attempts === 1) this.options.onRtt?.(from, rttMs);
      if (events?.has('response:in')) events.emit('response:in', { method: pending.method, from, rttMs });
      pending.resolve({ r: message.r, from, ip: message.ip, rttMs });
    } else {
      stats.errors++;
      if (events?.has('query:error'))
        events.emit('query:error', {
          method: pending.method,
          from,
          code: message.code,
          message: message.message,
        });
      pending.reject(new KrpcRemoteError(message.code, message.message));
    }
  }

  /**
   * True while the rate limit holds `host`'s source as flooding: a query of its was dropped within
   * LIMITED_FOR_MS. Such a sender is not one to keep in a routing table.
   */
  limited(host: string): boolean {
    if (!this.limiter || this.exempt(host)) return false;
    const now = this.options.clock.now();
    return (
      this.limiter.limited(rateLimitKey(host), now) ||
      (this.subnetLimiter?.limited(subnetKey(host), now) ?? false)
    );
  }

  private allow(from: Address): boolean {
    if (!this.limiter || this.exempt(from.host)) return true;
    const now = this.options.clock.now();
    if (!this.limiter.allow(rateLimitKey(from.host), now)) return false;
    return this.subnetLimiter?.allow(subnetKey(from.host), now) ?? true;
  }

  private exempt(host: string): boolean {
    return !this.options.rateLimitLoopback && isLoopbackHost(host);
  }
}
