/**
 * `kadmium discovery`: the HTTP discovery server as a service. It opens its store (SQLite file or
 * shared Redis), runs an overlay full node under its own key (unless mirroring is off), mirrors
 * every accepted write into the overlay, and serves the routes of http.ts on node:http with body
 * limits and timeouts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OverlayBootstrap, OverlayNode } from '../node/overlay-node.js';
import { listenOverlay } from '../node/overlay-tcp.js';
import type { OverlayIdentity } from '../protocols/overlay/identity.js';
import type { PuzzleDifficulty } from '../protocols/overlay/puzzle.js';
import type { Backends } from '../storage/open.js';
import { toHex } from '../util/bytes.js';
import { type Clock, systemClock } from '../util/clock.js';
import type { JsonValue } from '../wire/json.js';
import { bodyLimitFor, createDiscoveryHandler, type DiscoveryRequest } from './http.js';
import { type DiscoveryKv, RedisKv, SqliteKv } from './kv.js';
import { Mirror } from './mirror.js';
import { DiscoveryState } from './state.js';

/** Connections the server holds at once. */
export const MAX_CONNECTIONS = 1024;
export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;

export interface DiscoveryServerOptions {
  host?: string;
  port?: number;
  /** SQLite file (default) ... */
  sqlitePath?: string;
  /** ... or a Redis URL shared with other servers, keys under `redisPrefix`. */
  redisUrl?: string;
  redisPrefix?: string;
  /** The server's key: signs mirrors, names its overlay node. Required when mirroring. */
  identity?: OverlayIdentity;
  /** Mirror accepted writes into the overlay (default true when an identity is given). */
  mirror?: boolean;
  /** How often pending mirrors are signed and pushed (default MIRROR_FLUSH_MS). */
  mirrorFlushMs?: number;
  overlayHost?: string;
  overlayPort?: number;
  bootstrap?: OverlayBootstrap[];
  /** Full nodes that receive every mirrored item (and that the server's node reconciles with). */
  fullNodes?: OverlayBootstrap[];
  /** The overlay node's own item store (default: memory). */
  overlayBackends?: Backends;
  difficulty?: PuzzleDifficulty;
  clock?: Clock;
}

export class DiscoveryServer {
  private constructor(
    readonly url: string,
    readonly state: DiscoveryState,
    readonly kv: DiscoveryKv,
    readonly node: OverlayNode | undefined,
    readonly mirror: Mirror | undefined,
    private readonly http: Server,
  ) {}

  static async start(options: DiscoveryServerOptions): Promise<DiscoveryServer> {
    const clock = options.clock ?? systemClock;
    const kv: DiscoveryKv = options.redisUrl
      ? await RedisKv.open(options.redisUrl, options.redisPrefix ?? 'kadmium:discovery:')
      : new SqliteKv(options.sqlitePath ?? 'discovery.sqlite');
    let node: OverlayNode | undefined;
    let mirror: Mirror | undefined;
    try {
      if ((options.mirror ?? options.identity !== undefined) && options.identity) {
        node = await listenOverlay({
          identity: options.identity,
          host: options.overlayHost ?? '127.0.0.1',
          port: options.overlayPort ?? 0,
          bootstrap: options.bootstrap ?? [],
          fullNodes: options.fullNodes ?? [],
          fullNode: true,
          clock,
          ...(options.difficulty ? { difficulty: options.difficulty } : {}),
          ...(options.overlayBackends ? { backends: options.overlayBackends } : {}),
          // Our own mirrors are stored in our own full node: trust our key there.
          storeOptions: {
            trusted: new Set([toHex(options.identity.publicKey)]),
            maxItems: 1_000_000,
            publicPoolSize: 1_000_000,
          },
        });
        await node.start();
        mirror = new Mirror({
          node,
          identity: options.identity,
          clock,
          fullNodes: options.fullNodes ?? [],
          ...(options.mirrorFlushMs !== undefined ? { flushMs: options.mirrorFlushMs } : {}),
        });
      }
      const m = mirror;
      const state = new DiscoveryState(kv, clock, m ? (event) => m.record(event) : undefined);
      const handler = createDiscoveryHandler({
        state,
        health: async (): Promise<Record<string, JsonValue>> => {
          let store: JsonValue = { kind: kv.kind, ok: true };
          try {
            await kv.ping();
          } catch (err) {
            store = { kind: kv.kind, ok: false, error: (err as Error).message };
          }
          return {
            store,
            mirror: m ? { ...m.stats() } : 'off',
            ...(node
              ? {
                  overlay: {
                    publicKey: toHex(node.publicKey),
                    address: `${node.address.host}:${node.address.port}`,
                    contacts: node.table.size,
                    items: node.store.size,
                  },
                }
              : {}),
          };
        },
      });
      const http = createServer(
        { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
        (req, res) => {
          void serve(handler, req, res);
        },
      );
      http.maxConnections = MAX_CONNECTIONS;
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
      });
      const addr = http.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return new DiscoveryServer(`http://${host}:${addr.port}`, state, kv, node, mirror, http);
    } catch (err) {
      await mirror?.close();
      await node?.close();
      await kv.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.mirror?.close();
    await this.node?.close();
    await this.kv.close();
  }
}

async function serve(
  handler: ReturnType<typeof createDiscoveryHandler>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const send = (status: number, body: string, close = false): void => {
    if (res.headersSent) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(body);
  };
  const limit = bodyLimitFor(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/');
  const tooLarge = (): void => {
    send(413, JSON.stringify({ message: `request body larger than ${limit} bytes`, code: 413 }), true);
    res.once('finish', () => req.destroy());
  };
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    }
  } catch {
    return; // the client went away
  }
  const request: DiscoveryRequest = {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    body: new Uint8Array(Buffer.concat(chunks)),
  };
  const response = await handler(request);
  send(response.status, response.body);
}
