/**
 * node:http around the app: reads bodies (with a size cap), serves the SSE stream the dashboard
 * listens to, and closes gracefully (stop accepting, end streams, wait for requests in flight).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { App } from './app.js';
import { errorResponse, HttpError } from './types.js';
import { MAX_BODY_BYTES } from './validate.js';

/** Dashboards connected at once. */
export const MAX_SSE_CLIENTS = 32;
/** A comment line this often keeps proxies from closing an idle stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Requests in flight get this long to finish on shutdown before their sockets are closed. */
export const CLOSE_GRACE_MS = 5_000;

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

export function createHttpServer(app: App, feed: Feed, log: Logger): HttpServer {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      log.error('http handler failed', { err, url: req.url });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 150_000;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/events' && req.method === 'GET') return openStream(res);
    let body: Uint8Array | undefined;
    try {
      body = await readBody(req);
    } catch (err) {
      const r = errorResponse(err as HttpError);
      res.writeHead(r.status, { ...r.headers, connection: 'close' }).end(r.body);
      return;
    }
    const response = await app.handle({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers as Record<string, string | undefined>,
      body,
    });
    res.writeHead(response.status, response.headers).end(response.body);
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
          resolve(server.address() as AddressInfo);
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

async function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES)
    throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return size === 0 ? undefined : Buffer.concat(chunks);
}
