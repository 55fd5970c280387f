/**
 * node:http around the app: refuses what it can before reading a body (wrong Host or Origin,
 * unknown route, wrong token, declared size over the cap), reads bodies with a size cap and an
 * idle timeout, caps connections per address, serves the SSE stream the dashboard listens to,
 * and closes gracefully (stop accepting, end streams, wait for requests in flight).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { App } from './app.js';
import { createHostGuard, type HostGuard } from './hosts.js';
import {
  capConnectionsPerAddress,
  DEFAULT_HTTP_LIMITS,
  type HttpLimits,
  MAX_HTTP_CONNECTIONS,
  TIMEOUT_CHECK_INTERVAL_MS,
} from './limits.js';
import { type ApiRequest, type ApiResponse, errorResponse, HttpError } from './types.js';
import { MAX_BODY_BYTES } from './validate.js';

export type { HttpLimits } from './limits.js';

/** Dashboards connected at once. */
export const MAX_SSE_CLIENTS = 32;
/** A comment line this often keeps proxies from closing an idle stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Requests in flight get this long to finish on shutdown before their sockets are closed. */
export const CLOSE_GRACE_MS = 5_000;
/** Methods that change nothing; every other method is a write and has its Origin checked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A source of server-sent events: `subscribe` gets each event's data as a JSON string. */
export interface Feed {
  subscribe(send: (event: string, data: string) => void): () => void;
  /** The latest event to send on connect, if any. */
  latest(): Promise<{ event: string; data: string } | undefined>;
}

export interface HttpServer {
  readonly server: Server;
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

export function createHttpServer(
  app: App,
  feed: Feed,
  log: Logger,
  limits: Partial<HttpLimits> = {},
): HttpServer {
  const opts: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...limits };
  const streams = new Set<ServerResponse>();
  // Set by listen(): the allowed Host names depend on the bound address and port.
  let guard: HostGuard | undefined;
  const run = (req: IncomingMessage, res: ServerResponse, wantsContinue: boolean): void => {
    void serve(req, res, wantsContinue).catch((err: unknown) => {
      log.error('http handler failed', { err, url: req.url });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
  const server = createServer(
    {
      // node:http refuses a headersTimeout above requestTimeout.
      headersTimeout: Math.min(opts.headersTimeoutMs, opts.requestTimeoutMs),
      requestTimeout: opts.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (req, res) => run(req, res, false),
  );
  // "Expect: 100-continue": answer only once the request is admitted, so a refused client never
  // sends its body.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => run(req, res, true));
  server.maxConnections = MAX_HTTP_CONNECTIONS;
  capConnectionsPerAddress(server, opts.maxConnectionsPerIp, (remote, open) =>
    log.debug('connection refused', { remote, open, max: opts.maxConnectionsPerIp }),
  );

  /** Everything that can be decided from the request line and headers. */
  function admit(req: IncomingMessage, request: ApiRequest, stream: boolean): ApiResponse | undefined {
    if (!guard)
      return errorResponse(
        new HttpError(503, 'NOT_LISTENING', 'the API is not listening yet; retry shortly'),
      );
    const refused =
      guard.checkHost(req.headers.host) ??
      (SAFE_METHODS.has(request.method) ? undefined : guard.checkOrigin(req.headers.origin));
    if (refused) return errorResponse(refused);
    if (stream) return undefined;
    const early = app.admit(request);
    if (early) return early;
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES)
      return errorResponse(
        new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`),
      );
    return undefined;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, wantsContinue: boolean): Promise<void> {
    const request: ApiRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers as Record<string, string | undefined>,
    };
    const stream = request.url.split('?')[0] === '/events' && request.method === 'GET';
    const refused = admit(req, request, stream);
    if (refused) {
      // A declared body stays unread: close the connection rather than drain it.
      reply(res, refused, declaresBody(req));
      log.debug('http refused', { method: req.method, url: req.url, status: refused.status });
      return;
    }
    if (stream) return openStream(res);
    if (wantsContinue) res.writeContinue();
    try {
      request.body = await readBody(req, opts.bodyIdleTimeoutMs);
    } catch (err) {
      if (err instanceof HttpError) reply(res, errorResponse(err), true);
      else res.destroy();
      return;
    }
    const response = await app.handle(request);
    reply(res, response, false);
    if (response.status >= 500)
      log.warn('http error', { method: req.method, url: req.url, status: response.status });
    else log.debug('http', { method: req.method, url: req.url, status: response.status });
  }

  async function openStream(res: ServerResponse): Promise<void> {
    if (streams.size >= MAX_SSE_CLIENTS) {
      const r = errorResponse(
        new HttpError(503, 'TOO_MANY_STREAMS', `${MAX_SSE_CLIENTS} dashboards are already connected`),
      );
      res.writeHead(r.status, r.headers).end(r.body);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    streams.add(res);
    const send = (event: string, data: string): void => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${data}\n\n`);
    };
    res.write('retry: 2000\n\n');
    const latest = await feed.latest();
    if (latest) send(latest.event, latest.data);
    const unsubscribe = feed.subscribe(send);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  }

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          guard = createHostGuard(address, opts.allowedHosts);
          log.debug('http host check', { accepts: guard.described });
          resolve(address);
        });
      });
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of streams) res.end();
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}

function reply(res: ServerResponse, r: ApiResponse, close: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(r.status, close ? { ...r.headers, connection: 'close' } : r.headers).end(r.body);
}

function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The body, at most MAX_BODY_BYTES, with at most `idleMs` of silence between chunks (the socket's
 * idle timer, surfaced by node:http as the request's "timeout" while the request is incomplete).
 */
function readBody(req: IncomingMessage, idleMs: number): Promise<Uint8Array | undefined> {
  if (req.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('timeout', onIdle);
      req.socket.setTimeout(0);
      if (err) reject(err);
      else resolve(size === 0 ? undefined : Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES)
        finish(new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onClose = (): void => finish(new Error('the client went away before the body arrived'));
    const onIdle = (): void =>
      finish(
        new HttpError(
          408,
          'BODY_TIMEOUT',
          `no body bytes arrived for ${idleMs / 1000} s; send the whole body without pauses`,
        ),
      );
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('timeout', onIdle);
    req.setTimeout(idleMs);
  });
}
