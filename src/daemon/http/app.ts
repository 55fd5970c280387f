/**
 * The daemon's HTTP API as a function from request to response: routing, auth for write
 * endpoints, body validation, and mapping node errors to status codes. No sockets here
 * (server.ts adapts node:http; tests call `handle` directly). `admit` runs the checks that need
 * no body (route, method, token), so the server can refuse a request before reading its body.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Dht } from '../../node/dht.js';
import { metricsText } from '../../services/metrics.js';
import type { Statistics } from '../../services/statistics.js';
import { overlayMetrics } from '../../services/overlay-stats.js';
import { CONTENT_TYPE as PROMETHEUS_TYPE, render } from '../../services/prometheus.js';
import { xorMap } from '../../services/xor-map.js';
import { KadmiumError } from '../../util/errors.js';
import { DASHBOARD_HTML } from '../dashboard/page.js';
import { liveSnapshot } from '../live.js';
import { getItem, putItem, type Slot } from './items.js';
import type { DaemonOverlay } from '../overlay.js';
import { overlayRoutes } from './overlay.js';
import { openApiDocument } from './openapi.js';
import { Profiler } from '../profiler.js';
import { profileRoutes } from './profile.js';
import { type ApiRequest, type ApiResponse, errorResponse, HttpError, json } from './types.js';
import {
  decodePart,
  hex20,
  jsonBody,
  onlyFields,
  optionalBool,
  optionalInt,
  parseTarget,
  timeoutMs,
} from './validate.js';

/**
 * Lookups the API runs at once, reads (get-peers, item gets) and writes (announce, puts) counted
 * apart: reads need no token, so with one shared pool anyone could keep authorised writes at 429.
 */
export const MAX_API_READ_LOOKUPS = 8;
export const MAX_API_WRITE_LOOKUPS = 8;
/** get-peers and announce: default and longest timeout, seconds. */
export const LOOKUP_TIMEOUT_S = 30;
export const MAX_LOOKUP_TIMEOUT_S = 120;

export type DaemonState = 'starting' | 'running' | 'stopping';

export interface AppContext {
  dht: Dht;
  stats: Statistics;
  /** Bearer token for write endpoints; undefined = none required (loopback only, enforced by config). */
  token: string | undefined;
  storageBackend: string;
  version: string;
  state(): DaemonState;
  /** CPU profiles and heap snapshots on request (default: one made here). */
  profiler?: Profiler;
  /** What the node keeps about others, for /api/privacy (daemon/privacy.ts); 404 without it. */
  privacy?: () => Promise<unknown>;
  /** The overlay node, when the daemon runs one; its routes answer 404 without it. */
  overlay?: DaemonOverlay;
}

export interface App {
  /** The checks that need no body: an error response to send as is, or undefined to go on. */
  admit(req: ApiRequest): ApiResponse | undefined;
  /** Admit (again: it is cheap) and run the request. */
  handle(req: ApiRequest): Promise<ApiResponse>;
}

type Handler = (req: ApiRequest, params: string[], query: URLSearchParams) => Promise<ApiResponse>;

interface Route {
  method: string;
  pattern: RegExp;
  write: boolean;
  handler: Handler;
}

/** At most `max` calls of one kind run at once; the next gets 429 with Retry-After. */
function slots(max: number, kind: string): Slot {
  let running = 0;
  return async (fn) => {
    if (running >= max)
      throw new HttpError(429, 'BUSY', `${max} ${kind} are already running; retry shortly`, {
        'retry-after': '1',
      });
    running++;
    try {
      return await fn();
    } finally {
      running--;
    }
  };
}

export function createApp(ctx: AppContext): App {
  const readSlot = slots(MAX_API_READ_LOOKUPS, 'lookups');
  const writeSlot = slots(MAX_API_WRITE_LOOKUPS, 'announces and puts');

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/$/, write: false, handler: async () => html(DASHBOARD_HTML) },
    {
      method: 'GET',
      pattern: /^\/health$/,
      write: false,
      handler: async () => {
        const state = ctx.state();
        const s = ctx.dht.stats();
        const body = {
          status: state === 'running' ? 'ok' : state,
          bootstrapped: s.bootstrapped,
          nodes: s.routingTable.size,
          uptimeSeconds: Math.round((ctx.dht.clock.now() - ctx.stats.startedAt) / 1000),
        };
        return json(state === 'running' ? 200 : 503, body);
      },
    },
    {
      method: 'GET',
      pattern: /^\/openapi\.json$/,
      write: false,
      handler: async () => json(200, openApiDocument(ctx.version)),
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      write: false,
      handler: async () => ({
        status: 200,
        headers: { 'content-type': PROMETHEUS_TYPE },
        body: (await metricsText(ctx.stats)) + (ctx.overlay ? render(overlayMetrics(ctx.overlay.stats)) : ''),
      }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/status$/,
      write: false,
      handler: async () => {
        const snap = await ctx.stats.snapshot();
        return json(200, {
          id: snap.id,
          address: snap.address,
          version: ctx.version,
          state: ctx.state(),
          uptimeSeconds: snap.uptimeSeconds,
          bootstrapped: snap.bootstrapped,
          lastBootstrap: snap.lastBootstrap,
          routingTable: { nodes: snap.routingTable.size, buckets: snap.routingTable.buckets.length },
          inFlight: snap.inFlight,
          messages: snap.messages,
          tokenRotations: snap.tokenRotations,
          counters: snap.counters,
          storage: { backend: ctx.storageBackend, ...snap.storage },
          anomalies: snap.anomalies.active,
          memory: snap.memory,
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/stats$/,
      write: false,
      handler: async () =>
        json(200, await liveSnapshot(ctx.dht, ctx.stats, ctx.storageBackend, ctx.version, ctx.overlay)),
    },
    {
      method: 'GET',
      pattern: /^\/api\/routing-table$/,
      write: false,
      handler: async () => {
        const now = ctx.dht.clock.now();
        return json(200, {
          id: ctx.stats.source.stats().id,
          k: ctx.dht.k,
          size: ctx.dht.table.size,
          buckets: ctx.dht.table.describe(now),
          nodes: xorMap(ctx.dht.table, now),
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/lookups$/,
      write: false,
      handler: async () => json(200, { lookups: ctx.stats.recentLookups() }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/anomalies$/,
      write: false,
      handler: async () =>
        json(200, {
          active: ctx.stats.detector.active(),
          recent: ctx.stats.detector.recent(),
          options: ctx.stats.detector.options,
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/peers\/([^/]+)$/,
      write: false,
      handler: async (_req, [hash], query) => {
        const infohash = hex20(hash, 'infohash');
        const ms = timeoutMs(query.get('timeout') ?? undefined, LOOKUP_TIMEOUT_S, MAX_LOOKUP_TIMEOUT_S);
        const started = ctx.dht.clock.now();
        const peers = await readSlot(() => ctx.dht.findPeers(infohash, { timeoutMs: ms }));
        return json(200, {
          infohash: hash?.toLowerCase(),
          peers: peers.map((p) => ({ host: p.host, port: p.port })),
          durationMs: ctx.dht.clock.now() - started,
        });
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/announce$/,
      write: true,
      handler: async (req) => {
        const body = jsonBody(req.headers, req.body);
        onlyFields(body, ['infohash', 'port', 'seed', 'timeout']);
        const infohash = hex20(body.infohash, 'infohash');
        const port = optionalInt(body.port, 'port', 1, 65535);
        const seed = optionalBool(body.seed, 'seed');
        const ms = timeoutMs(body.timeout, LOOKUP_TIMEOUT_S, MAX_LOOKUP_TIMEOUT_S);
        const result = await writeSlot(() =>
          ctx.dht.announce(infohash, { port, seed: seed ?? false, timeoutMs: ms }),
        );
        return json(result.announcedTo > 0 ? 200 : 502, {
          infohash: toLowerHex(infohash),
          announcedTo: result.announcedTo,
          candidates: result.candidates,
          peers: result.peers.map((p) => ({ host: p.host, port: p.port })),
          ...(result.announcedTo === 0
            ? { error: { code: 'NOT_STORED', message: 'no node accepted the announce' } }
            : {}),
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/items\/([^/]+)$/,
      write: false,
      handler: (_req, params, query) => getItem(ctx.dht, readSlot, params[0] ?? '', query),
    },
    {
      method: 'POST',
      pattern: /^\/api\/items$/,
      write: true,
      handler: (req) => putItem(ctx.dht, writeSlot, req),
    },
    {
      method: 'GET',
      pattern: /^\/api\/privacy$/,
      write: false,
      handler: async () => {
        if (!ctx.privacy) throw new HttpError(404, 'NOT_FOUND', 'no privacy report in this app');
        return json(200, await ctx.privacy());
      },
    },
    ...overlayRoutes(ctx.overlay, readSlot, writeSlot),
    // Checks the token itself (always required; see profile.ts), so not marked write.
    ...profileRoutes(ctx.profiler ?? new Profiler(ctx.dht.clock), ctx.token).map((r) => ({
      method: r.method,
      pattern: r.pattern,
      write: false,
      handler: (req: ApiRequest, _params: string[], query: URLSearchParams) => r.handler(req, query),
    })),
  ];

  const authorize = (req: ApiRequest): void => {
    if (ctx.token === undefined) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header.trim());
    const given = Buffer.from(match?.[1] ?? '');
    const want = Buffer.from(ctx.token);
    if (!match || given.length !== want.length || !timingSafeEqual(given, want)) {
      throw new HttpError(
        401,
        'UNAUTHORIZED',
        match ? 'the bearer token is wrong' : 'this endpoint needs "authorization: Bearer <api.token>"',
        { 'www-authenticate': 'Bearer realm="kadmium"' },
      );
    }
  };

  const resolve = (req: ApiRequest): { route: Route; params: string[]; query: URLSearchParams } => {
    const { path, query } = parseTarget(req.url);
    const matching = routes.filter((r) => r.pattern.test(path));
    if (matching.length === 0)
      throw new HttpError(404, 'NOT_FOUND', `no such endpoint: ${path}; see /openapi.json`);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const route = matching.find((r) => r.method === method);
    if (!route) {
      const allow = matching.map((r) => r.method).join(', ');
      throw new HttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `${req.method} is not allowed on ${path}; use ${allow}`,
        {
          allow,
        },
      );
    }
    if (route.write) authorize(req);
    if (route.write && ctx.state() === 'stopping')
      throw new HttpError(503, 'STOPPING', 'the daemon is shutting down');
    const params = (route.pattern.exec(path) ?? []).slice(1).map((p) => decodePart(p ?? '', 'the path part'));
    return { route, params, query };
  };

  return {
    admit(req) {
      try {
        resolve(req);
        return undefined;
      } catch (err) {
        return errorResponse(toHttpError(err));
      }
    },
    async handle(req) {
      try {
        const { route, params, query } = resolve(req);
        const response = await route.handler(req, params, query);
        return req.method === 'HEAD' ? { ...response, body: '' } : response;
      } catch (err) {
        return errorResponse(toHttpError(err));
      }
    },
  };
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof KadmiumError) {
    const status: Record<string, number> = {
      INVALID_ARGUMENT: 422,
      NO_NODES: 503,
      NOT_LISTENING: 503,
      CLOSED: 503,
      TIMEOUT: 504,
      ABORTED: 504,
      RPC_BUSY: 429,
      VALUE_TOO_BIG: 413,
      SEQ_CONFLICT: 409,
      CAS_MISMATCH: 409,
      PUT_REFUSED: 502,
      PUT_REJECTED: 502,
      SEQ_EXHAUSTED: 409,
    };
    // The daemon closes its node on a privacy rotation (and on stop): a request caught by that
    // gets 503 and is worth retrying at once on the next node.
    if (err.code === 'CLOSED')
      return new HttpError(
        503,
        'CLOSED',
        'the DHT node closed while this request ran (a privacy rotation replaced it, or the daemon is stopping); retry',
        { 'retry-after': '1' },
      );
    return new HttpError(status[err.code] ?? 500, err.code, err.message);
  }
  return new HttpError(
    500,
    'INTERNAL',
    `internal error: ${err instanceof Error ? err.message : String(err)}`,
  );
}

function html(body: string): ApiResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
    },
    body,
  };
}

function toLowerHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
