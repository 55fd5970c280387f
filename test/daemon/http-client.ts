/**
 * Test support for the HTTP hardening tests: a stub node whose lookups block until released (so
 * slot use is deterministic), and clients that speak real HTTP on loopback, including raw sockets
 * that stall mid-request. Every wait here is bounded.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Feed } from '../../src/daemon/http/server.js';
import type { Dht } from '../../src/node/dht.js';

/** A node stand-in: findPeers waits for release(); writes answer at once and are counted. */
export interface StubNode {
  dht: Dht;
  /** findPeers calls waiting for release(). */
  readonly pendingReads: number;
  readonly puts: number;
  readonly announces: number;
  release(): void;
}

export function stubNode(): StubNode {
  const waiting: (() => void)[] = [];
  let puts = 0;
  let announces = 0;
  const dht = {
    clock: { now: () => 0 },
    findPeers: () => new Promise<[]>((resolve) => waiting.push(() => resolve([]))),
    get: async () => undefined,
    announce: async () => {
      announces++;
      return { announcedTo: 1, candidates: 1, peers: [] };
    },
    putImmutable: async () => {
      puts++;
      return { target: new Uint8Array(20), storedOn: 1, candidates: 1 };
    },
  };
  return {
    dht: dht as unknown as Dht,
    get pendingReads() {
      return waiting.length;
    },
    get puts() {
      return puts;
    },
    get announces() {
      return announces;
    },
    release() {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

export const NO_FEED: Feed = { subscribe: () => () => undefined, latest: async () => undefined };

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The parsed error code, when the body is a JSON error. */
  code: string | undefined;
}

/** One request on its own connection; fails after `timeoutMs` instead of hanging. */
export function send(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port, method, path, headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, code });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.setTimeout(options.timeoutMs ?? 10_000, () =>
      r.destroy(new Error(`${method} ${path}: no answer in ${options.timeoutMs ?? 10_000} ms`)),
    );
    r.end(options.body);
  });
}

/** A raw connection that records what the server sends and when it closes. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  text(): string;
  /** Resolves with the ms from open to close, or undefined if still open after `limitMs`. */
  closedWithin(limitMs: number): Promise<number | undefined>;
  /** Resolves once some data has arrived, or undefined after `limitMs`. */
  dataWithin(limitMs: number): Promise<string | undefined>;
}

export function rawConnect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let closedAt: number | undefined;
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('error', () => undefined);
    socket.on('close', () => (closedAt = Date.now()));
    const poll = <T>(limitMs: number, value: () => T | undefined): Promise<T | undefined> =>
      new Promise((done) => {
        const until = Date.now() + limitMs;
        const tick = (): void => {
          const v = value();
          if (v !== undefined || Date.now() >= until) done(v);
          else setTimeout(tick, 20);
        };
        tick();
      });
    socket.once('connect', () =>
      resolve({
        socket,
        text: () => received,
        closedWithin: (limitMs) =>
          poll(limitMs, () => (closedAt === undefined ? undefined : closedAt - opened)),
        dataWithin: (limitMs) => poll(limitMs, () => (received === '' ? undefined : received)),
      }),
    );
    socket.once('error', reject);
  });
}

/** Poll `check` every 20 ms until it is true or `limitMs` passes. */
export async function until(check: () => boolean, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
