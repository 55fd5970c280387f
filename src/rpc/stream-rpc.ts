/**
 * Transactions over stream connections: the KRPC engine's idea (ids, timeouts, per-method
 * counts) for the overlay's pooled, multiplexed connections.
 *
 * What Skywire's one-stream-per-RPC design lost under load, this keeps explicit:
 * - a request is matched to its reply by a request id, so one connection carries many at once;
 * - a node at its handler limit answers "busy, retry after N ms" instead of dropping the stream
 *   ("incoming stream dropped (buffer full)"), so every request gets an answer;
 * - a frame that cannot be parsed gets an error reply naming its request id, not silence;
 * - replies a slow reader cannot take yet wait in a bounded outbox until the connection drains;
 *   a peer that never reads its replies is disconnected with a reason.
 */
import type { Connection } from '../transport/stream/types.js';
import type { Clock, Timer } from '../util/clock.js';
import { AbortError, ClosedError, KadmiumError, TimeoutError } from '../util/errors.js';
import type { MaybePromise } from '../util/maybe-promise.js';
import { decodeFrame, encodeFrameHeader, type Frame } from '../wire/frames.js';
import { type InboundStats, MethodStats, type OutboundStats } from './stats.js';

export const STREAM_REQUEST_TIMEOUT_MS = 5_000;
/** Requests we may have in flight on one connection. */
export const MAX_OUTGOING_PER_CONNECTION = 1_024;
/** Inbound requests one node handles at once, over all connections (Skywire: 128 handlers). */
export const MAX_HANDLERS = 256;
/** Inbound requests one connection may have in handling at once; more are answered busy. */
export const MAX_HANDLERS_PER_CONNECTION = 64;
/** Replies held for a connection whose send queue is full; past this the peer is dropped. */
export const MAX_OUTBOX = 4_096;
/** What a busy reply asks the caller to wait. */
export const BUSY_RETRY_AFTER_MS = 50;

/** Error codes carried in error replies. */
export const RpcErrorCode = {
  Busy: 'BUSY',
  BadRequest: 'BAD_REQUEST',
  UnknownMethod: 'UNKNOWN_METHOD',
  Rejected: 'REJECTED',
  Internal: 'INTERNAL',
} as const;

/** A remote node answered with an error reply. */
export class RemoteRpcError extends KadmiumError {
  constructor(
    readonly remoteCode: string,
    readonly remoteMessage: string,
    readonly retryAfterMs?: number,
  ) {
    super(
      remoteCode === RpcErrorCode.Busy ? 'REMOTE_BUSY' : 'REMOTE_ERROR',
      `remote node replied ${remoteCode}: ${remoteMessage}` +
        (retryAfterMs !== undefined ? ` (retry after ${retryAfterMs} ms)` : ''),
    );
  }
}

/** Thrown by a handler to answer with an error reply of this code. */
export class RpcReplyError extends KadmiumError {
  constructor(
    readonly replyCode: string,
    message: string,
  ) {
    super('RPC_REPLY', message);
  }
}

/**
 * Handle one request: the response JSON, now or as a promise, or throw (or reject with) an
 * RpcReplyError. A handler that can answer at once (Ping, FindNode) returns the bytes: the reply
 * then goes out in the same tick with no promise made for it.
 */
export type StreamRequestHandler = (
  tag: number,
  json: Uint8Array,
  conn: Connection,
) => MaybePromise<Uint8Array>;

export interface StreamRpcEvents {
  'rpc:busy': { remote: Uint8Array; inFlight: number };
  'rpc:bad-frame': { remote: Uint8Array; reason: string };
  'rpc:dropped-peer': { remote: Uint8Array; reason: string };
}

export interface StreamRpcOptions {
  clock: Clock;
  timeoutMs?: number;
  maxHandlers?: number;
  maxHandlersPerConnection?: number;
  maxOutgoingPerConnection?: number;
  /** Method names by tag, for statistics. */
  methodNames?: Record<number, string>;
  emit?: <K extends keyof StreamRpcEvents>(event: K, payload: StreamRpcEvents[K]) => void;
}

/** A request waiting for its reply. */
interface Pending {
  tag: number;
  resolve: (json: Uint8Array) => void;
  reject: (err: Error) => void;
  /** When it times out, on the RPC's clock. */
  deadline: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** What the RPC keeps per connection. */
interface Link {
  nextId: number;
  pending: Map<number, Pending>;
  /**
   * One timer per connection, at the earliest deadline of its pending requests, instead of one
   * per request: a busy connection has hundreds in flight, and a timer each was an allocation, a
   * timer-list insert and a cancel per request.
   */
  timer: Timer | undefined;
  timerAt: number;
  handling: number;
  /** Frames waiting for room: each its header and its JSON, sent together as one body. */
  outbox: { head: Uint8Array; json: Uint8Array }[];
}

export class StreamRpc {
  readonly stats: MethodStats;
  private handler: StreamRequestHandler | undefined;
  private readonly links = new WeakMap<Connection, Link>();
  private handling = 0;
  private readonly timeoutMs: number;
  private readonly maxHandlers: number;
  private readonly maxPerConnection: number;
  private readonly maxOutgoing: number;
  private readonly inboundByTag: InboundStats[] = [];
  private readonly outboundByTag: OutboundStats[] = [];

  constructor(private readonly options: StreamRpcOptions) {
    this.stats = new MethodStats(Object.values(options.methodNames ?? {}));
    this.timeoutMs = options.timeoutMs ?? STREAM_REQUEST_TIMEOUT_MS;
    this.maxHandlers = options.maxHandlers ?? MAX_HANDLERS;
    this.maxPerConnection = options.maxHandlersPerConnection ?? MAX_HANDLERS_PER_CONNECTION;
    this.maxOutgoing = options.maxOutgoingPerConnection ?? MAX_OUTGOING_PER_CONNECTION;
  }

  /** Inbound requests in handling now, over all connections. */
  get inFlight(): number {
    return this.handling;
  }

  onRequest(handler: StreamRequestHandler): void {
    this.handler = handler;
  }

  /** Start serving and matching on a connection (once per connection; later calls do nothing). */
  attach(conn: Connection): void {
    if (this.links.has(conn)) return;
    const link: Link = {
      nextId: 1,
      pending: new Map(),
      timer: undefined,
      timerAt: Infinity,
      handling: 0,
      outbox: [],
    };
    this.links.set(conn, link);
    conn.onBody((body) => this.receive(conn, link, body));
    conn.onDrain(() => this.flush(conn, link));
    conn.onClose((reason) => {
      const waiting = [...link.pending.values()];
      link.pending.clear();
      this.disarm(link);
      link.outbox.length = 0;
      for (const p of waiting) {
        forget(p);
        p.reject(new ClosedError(`connection closed before the reply: ${reason}`));
      }
    });
  }

  /** Send one request and wait for its reply's JSON. */
  request(
    conn: Connection,
    tag: number,
    json: Uint8Array,
    options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {},
  ): Promise<Uint8Array> {
    this.attach(conn);
    const link = this.links.get(conn) as Link;
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) return reject(new AbortError());
      if (conn.closed) return reject(new ClosedError('connection is closed; connect again'));
      if (link.pending.size >= this.maxOutgoing) {
        return reject(
          new KadmiumError(
            'TOO_MANY_REQUESTS',
            `${link.pending.size} requests already in flight on this connection`,
          ),
        );
      }
      // Ids wrap at 2^32 and skip ones still pending.
      let id = link.nextId;
      while (link.pending.has(id)) id = (id % 0xffffffff) + 1;
      link.nextId = (id % 0xffffffff) + 1;
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const pending: Pending = {
        tag,
        resolve,
        reject,
        deadline: this.options.clock.now() + timeoutMs,
        timeoutMs,
        signal,
        onAbort: undefined,
      };
      if (signal) {
        pending.onAbort = (): void => {
          if (link.pending.get(id) !== pending) return;
          this.remove(link, id, pending);
          reject(new AbortError(`${this.methodName(tag)} aborted`));
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      link.pending.set(id, pending);
      if (pending.deadline < link.timerAt) this.arm(link, pending.deadline);
      this.outboundOf(tag).tx++;
      this.send(conn, link, encodeFrameHeader('request', tag, id), json);
    });
  }

  /** The connection's timer, moved to `at` (the earliest deadline among its pending requests). */
  private arm(link: Link, at: number): void {
    link.timer?.cancel();
    link.timerAt = at;
    link.timer = this.options.clock.setTimeout(
      () => this.expire(link),
      Math.max(0, at - this.options.clock.now()),
    );
  }

  private disarm(link: Link): void {
    link.timer?.cancel();
    link.timer = undefined;
    link.timerAt = Infinity;
  }

  /** Time out every request past its deadline, then wait for the next one. */
  private expire(link: Link): void {
    link.timer = undefined;
    link.timerAt = Infinity;
    const now = this.options.clock.now();
    const late: Pending[] = [];
    let next = Infinity;
    for (const [id, p] of link.pending) {
      if (p.deadline <= now) {
        link.pending.delete(id);
        late.push(p);
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    if (next < Infinity) this.arm(link, next);
    for (const p of late) {
      forget(p);
      this.outboundOf(p.tag).timeouts++;
      p.reject(new TimeoutError(`${this.methodName(p.tag)} got no reply within ${p.timeoutMs} ms`));
    }
  }

  /** Take a request out of its connection's pending set (its reply came, or it was aborted). */
  private remove(link: Link, id: number, pending: Pending): void {
    link.pending.delete(id);
    forget(pending);
    if (link.pending.size === 0) this.disarm(link);
  }

  private receive(conn: Connection, link: Link, body: Uint8Array): void {
    const frame = decodeFrame(body);
    if (!frame) {
      this.options.emit?.('rpc:bad-frame', { remote: conn.remotePublicKey, reason: 'no frame header' });
      conn.close('protocol: a frame without a header');
      return;
    }
    if (frame.kind === 'request') this.serve(conn, link, frame);
    else this.settle(link, frame);
  }

  private settle(link: Link, frame: Frame): void {
    const pending = link.pending.get(frame.requestId);
    // A reply nobody waits for (timed out, aborted, or a peer's bug): counted, not fatal, since
    // a late reply is legitimate.
    if (!pending) {
      this.stats.dropped.unsolicited++;
      return;
    }
    this.remove(link, frame.requestId, pending);
    const outbound = this.outboundOf(pending.tag);
    if (frame.kind === 'response') {
      outbound.rx++;
      pending.resolve(frame.json);
      return;
    }
    outbound.errors++;
    const error = parseErrorBody(frame.json);
    pending.reject(new RemoteRpcError(error.code, error.message, error.retryAfterMs));
  }

  private serve(conn: Connection, link: Link, frame: Frame): void {
    const inbound = this.inboundOf(frame.tag);
    inbound.rx++;
    if (!this.handler) {
      this.reply(
        conn,
        link,
        frame,
        'error',
        errorBody(RpcErrorCode.UnknownMethod, 'this node serves no requests'),
      );
      return;
    }
    if (this.handling >= this.maxHandlers || link.handling >= this.maxPerConnection) {
      this.options.emit?.('rpc:busy', { remote: conn.remotePublicKey, inFlight: this.handling });
      const body = errorBody(RpcErrorCode.Busy, 'too many requests in handling', BUSY_RETRY_AFTER_MS);
      this.reply(conn, link, frame, 'error', body);
      return;
    }
    let result: MaybePromise<Uint8Array>;
    try {
      result = this.handler(frame.tag, frame.json, conn);
    } catch (err) {
      this.reply(conn, link, frame, 'error', failureBody(err));
      return;
    }
    // Ping and FindNode answer here, in the same tick, with no closure made for them.
    if (!(result instanceof Promise)) {
      this.reply(conn, link, frame, 'response', result);
      return;
    }
    this.handling++;
    link.handling++;
    result.then(
      (json) => {
        this.handling--;
        link.handling--;
        this.reply(conn, link, frame, 'response', json);
      },
      (err: unknown) => {
        this.handling--;
        link.handling--;
        this.reply(conn, link, frame, 'error', failureBody(err));
      },
    );
  }

  private reply(
    conn: Connection,
    link: Link,
    request: Frame,
    kind: 'response' | 'error',
    json: Uint8Array,
  ): void {
    const inbound = this.inboundOf(request.tag);
    if (kind === 'error') inbound.errors++;
    else inbound.tx++;
    this.send(conn, link, encodeFrameHeader(kind, request.tag, request.requestId), json);
  }

  /** Counters by tag, looked up by method name once per tag rather than once per request. */
  private inboundOf(tag: number): InboundStats {
    return (this.inboundByTag[tag] ??= this.stats.in(this.methodName(tag)));
  }

  private outboundOf(tag: number): OutboundStats {
    return (this.outboundByTag[tag] ??= this.stats.out(this.methodName(tag)));
  }

  /** Header and JSON leave as one body; the connection copies both straight into its record. */
  private send(conn: Connection, link: Link, head: Uint8Array, json: Uint8Array): void {
    if (conn.closed) return;
    if (link.outbox.length > 0 || !conn.send(head, json)) {
      if (conn.closed) return;
      if (link.outbox.length >= MAX_OUTBOX) {
        this.options.emit?.('rpc:dropped-peer', { remote: conn.remotePublicKey, reason: 'outbox full' });
        conn.close(`the peer is not reading: ${MAX_OUTBOX} frames waiting`);
        return;
      }
      link.outbox.push({ head, json });
    }
  }

  private flush(conn: Connection, link: Link): void {
    while (link.outbox.length > 0 && !conn.closed) {
      const next = link.outbox[0] as { head: Uint8Array; json: Uint8Array };
      if (!conn.send(next.head, next.json)) return;
      link.outbox.shift();
    }
  }

  private methodName(tag: number): string {
    return this.options.methodNames?.[tag] ?? 'other';
  }
}

/** The error reply for a handler that threw or rejected. */
function failureBody(err: unknown): Uint8Array {
  return err instanceof RpcReplyError
    ? errorBody(err.replyCode, err.message)
    : errorBody(RpcErrorCode.Internal, `the handler failed: ${String(err)}`);
}

/** Stop listening to a request's abort signal. */
function forget(pending: Pending): void {
  if (pending.onAbort) pending.signal?.removeEventListener('abort', pending.onAbort);
}

const encoder = new TextEncoder();

export function errorBody(code: string, message: string, retryAfterMs?: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      error: message,
      code,
      ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}),
    }),
  );
}

/** An error reply's body; a malformed one still becomes an error, never a throw. */
function parseErrorBody(json: Uint8Array): { code: string; message: string; retryAfterMs?: number } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(json));
  } catch {
    return { code: RpcErrorCode.BadRequest, message: 'malformed error reply' };
  }
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const retry = v.retry_after_ms;
  return {
    code: typeof v.code === 'string' ? v.code.slice(0, 64) : 'UNKNOWN',
    message: typeof v.error === 'string' ? v.error.slice(0, 512) : 'no message',
    ...(typeof retry === 'number' && Number.isFinite(retry) && retry >= 0 ? { retryAfterMs: retry } : {}),
  };
}
