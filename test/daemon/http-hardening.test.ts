/**
 * Issue 11, defects 2, 3 and 5, over real HTTP on loopback: DNS rebinding (Host and Origin),
 * malformed percent-encoding, and unauthenticated traffic getting in the way of authorised writes
 * (shared lookup slots, bodies read before the token, no connection cap, no body timeout).
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { createApp } from '../../src/daemon/http/app.js';
import { createHttpServer, type HttpLimits, type HttpServer } from '../../src/daemon/http/server.js';
import type { Statistics } from '../../src/services/statistics.js';
import { memoryLogger } from './helpers.js';
import { NO_FEED, rawConnect, send, type StubNode, stubNode, until } from './http-client.js';

const TOKEN = 'secret-token-0123456789';
const INFOHASH = 'aa'.repeat(20);
const JSON_HEADERS = { 'content-type': 'application/json' };

const servers: HttpServer[] = [];
const sockets: Socket[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

async function start(
  options: { token?: string; limits?: Partial<HttpLimits> } = {},
): Promise<{ node: StubNode; port: number }> {
  const node = stubNode();
  const app = createApp({
    dht: node.dht,
    stats: {} as Statistics,
    token: options.token,
    storageBackend: 'memory',
    version: 'test',
    state: () => 'running',
  });
  const http = createHttpServer(app, NO_FEED, memoryLogger().log, options.limits);
  servers.push(http);
  const { port } = await http.listen('127.0.0.1', 0);
  return { node, port };
}

describe('DNS rebinding: Host and Origin are checked against the bound address', () => {
  it('refuses a foreign Host on writes and reads, and stores nothing', async () => {
    const { node, port } = await start();
    const write = await send(port, 'POST', '/api/items', {
      headers: { ...JSON_HEADERS, host: `attacker.example:${port}` },
      body: '{"value":"x"}',
    });
    assert.equal(write.status, 403, write.body);
    assert.equal(write.code, 'HOST_NOT_ALLOWED');
    assert.match(write.body, /api\.allowed_hosts/, 'the error says what to configure');
    const page = await send(port, 'GET', '/', { headers: { host: `attacker.example:${port}` } });
    assert.equal(page.status, 403);
    // The right name on the wrong port is another origin too.
    const otherPort = await send(port, 'GET', '/openapi.json', {
      headers: { host: `127.0.0.1:${port + 1}` },
    });
    assert.equal(otherPort.status, 403);
    assert.equal(node.puts, 0);
  });

  it('refuses a foreign or opaque Origin on writes', async () => {
    const { node, port } = await start();
    for (const origin of ['http://attacker.example', `http://attacker.example:${port}`, 'null']) {
      const res = await send(port, 'POST', '/api/items', {
        headers: { ...JSON_HEADERS, host: `127.0.0.1:${port}`, origin },
        body: '{"value":"x"}',
      });
      assert.equal(res.status, 403, `${origin}: ${res.body}`);
      assert.equal(res.code, 'ORIGIN_NOT_ALLOWED');
    }
    assert.equal(node.puts, 0);
  });

  it('accepts the bound address, localhost, and names from api.allowed_hosts', async () => {
    const { node, port } = await start({ limits: { allowedHosts: ['kadmium.lan'] } });
    const accepted: [string, string | undefined][] = [
      [`127.0.0.1:${port}`, undefined],
      [`localhost:${port}`, `http://localhost:${port}`],
      [`127.0.0.1:${port}`, `http://127.0.0.1:${port}`],
      ['kadmium.lan', 'https://kadmium.lan'],
    ];
    for (const [host, origin] of accepted) {
      const res = await send(port, 'POST', '/api/items', {
        headers: { ...JSON_HEADERS, host, ...(origin ? { origin } : {}) },
        body: '{"value":"x"}',
      });
      assert.equal(res.status, 200, `${host} ${origin}: ${res.body}`);
    }
    assert.equal(node.puts, accepted.length);
    assert.equal((await send(port, 'GET', '/', { headers: { host: `localhost:${port}` } })).status, 200);
  });
});

describe('malformed percent-encoding is a 400 that says what is wrong', () => {
  it('answers 400 on every route that decodes a path or query part', async () => {
    const { port } = await start();
    for (const path of [
      '/api/peers/%ZZ',
      '/api/items/%ZZ',
      `/api/items/${INFOHASH}?salt=%ZZ`,
      `/api/peers/${INFOHASH}?timeout=%E0%A4%A`,
      '/api/peers/%C3%28',
    ]) {
      const res = await send(port, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${res.body}`);
      assert.equal(res.code, 'BAD_ENCODING', path);
      assert.match(res.body, /percent-encod/, path);
    }
  });
});

describe('unauthenticated traffic cannot get in the way of authorised writes', () => {
  it('reads that fill every lookup slot leave authorised writes their own', async () => {
    const { node, port } = await start({ token: TOKEN });
    const reads = Array.from({ length: 12 }, () => send(port, 'GET', `/api/peers/${INFOHASH}`));
    try {
      await until(() => node.pendingReads >= 8, 5_000, '8 reads holding their slots');
      const writes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          send(port, 'POST', '/api/announce', {
            headers: { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify({ infohash: INFOHASH, port: 1000 + i }),
          }),
        ),
      );
      assert.deepEqual(
        writes.map((w) => w.status),
        Array<number>(20).fill(200),
      );
      assert.equal(node.announces, 20);
    } finally {
      node.release();
    }
    const statuses = (await Promise.all(reads)).map((r) => r.status).sort();
    // Reads stay bounded among themselves.
    assert.deepEqual(statuses, [...Array<number>(8).fill(200), ...Array<number>(4).fill(429)]);
  });

  it('refuses a wrong token at once, without reading the declared body', async () => {
    const { port } = await start({ token: TOKEN });
    for (const [length, expect] of [
      [1_048_576, ''],
      [100, ''],
      [100, 'Expect: 100-continue\r\n'],
    ] as const) {
      const c = await rawConnect(port);
      sockets.push(c.socket);
      c.socket.write(
        `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer wrong-token-000000000\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${length}\r\n${expect}\r\n`,
      );
      const started = Date.now();
      const text = await c.dataWithin(2_000);
      assert.ok(text !== undefined, `no answer in 2 s to a ${length}-byte declared body ${expect}`);
      assert.match(text, /^HTTP\/1\.1 401 /, text);
      assert.doesNotMatch(text, /100 Continue/);
      assert.ok(Date.now() - started < 2_000);
      // The unread body is not waited for: the server closes the connection.
      assert.ok((await c.closedWithin(2_000)) !== undefined, 'connection closed after the 401');
    }
  });

  it('closes a stalled body and stalled headers within the configured seconds', async () => {
    const { port } = await start({
      limits: { bodyIdleTimeoutMs: 1_000, headersTimeoutMs: 1_000, requestTimeoutMs: 3_000 },
    });
    const body = await rawConnect(port);
    sockets.push(body.socket);
    body.socket.write(
      `POST /api/items HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 100\r\n\r\n{"value":',
    );
    const headers = await rawConnect(port);
    sockets.push(headers.socket);
    headers.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    const bodyClosed = await body.closedWithin(4_000);
    assert.ok(bodyClosed !== undefined, 'a stalled body is closed within 4 s (idle timeout 1 s)');
    assert.ok(bodyClosed >= 900, `closed after the idle timeout, not before (${bodyClosed} ms)`);
    assert.match(body.text(), /^HTTP\/1\.1 408 /);
    assert.match(body.text(), /BODY_TIMEOUT/);
    const headersClosed = await headers.closedWithin(4_000);
    assert.ok(headersClosed !== undefined, 'stalled headers are closed within 4 s (timeout 1 s)');
  });

  it('times out arriving requests only: a lookup or an event stream may outlast requestTimeout', async () => {
    const { node, port } = await start({ limits: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_000 } });
    const slow = send(port, 'GET', `/api/peers/${INFOHASH}`);
    const stream = await rawConnect(port);
    sockets.push(stream.socket);
    stream.socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await until(() => node.pendingReads === 1, 2_000, 'the lookup to start');
    await new Promise((r) => setTimeout(r, 2_000));
    node.release();
    assert.equal((await slow).status, 200);
    // The dashboard's event stream is not cut either.
    assert.equal(await stream.closedWithin(0), undefined, 'the event stream is still open');
    assert.match(stream.text(), /^HTTP\/1\.1 200 [^]*retry: 2000/);
  });

  it('refuses connections over the per-address cap, and admits again when one closes', async () => {
    const { port } = await start({ limits: { maxConnectionsPerIp: 4, headersTimeoutMs: 10_000 } });
    const held = [];
    for (let i = 0; i < 4; i++) {
      const c = await rawConnect(port);
      sockets.push(c.socket);
      held.push(c);
    }
    const excess = await rawConnect(port);
    sockets.push(excess.socket);
    assert.ok((await excess.closedWithin(2_000)) !== undefined, 'the fifth connection is closed');
    // The held ones still work.
    const first = held[0];
    assert.ok(first);
    first.socket.write(`GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    assert.match((await first.dataWithin(2_000)) ?? '', /^HTTP\/1\.1 200 /);
    for (const c of held) c.socket.destroy();
    // The server sees the closes shortly after; a few tries, bounded.
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = await send(port, 'GET', '/openapi.json').then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200, 'a new connection is admitted once the held ones closed');
  });
});
