import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type App, createApp, type DaemonState } from '../../src/daemon/http/app.js';
import type { ApiRequest, ApiResponse } from '../../src/daemon/http/types.js';
import { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { Statistics } from '../../src/services/statistics.js';
import { parseMetrics, total } from '../services/prom-parse.js';

const TOKEN = 'secret-token-0123456789';
const INFOHASH = 'aa'.repeat(20);

function req(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): ApiRequest {
  const bytes =
    body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    method,
    url,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: bytes,
  };
}

function bodyOf(res: ApiResponse): Record<string, unknown> {
  return JSON.parse(res.body) as Record<string, unknown>;
}

function errorCode(res: ApiResponse): string {
  return (bodyOf(res).error as { code: string }).code;
}

describe('daemon HTTP API (injected requests)', () => {
  let net: Testnet;
  let dht: Dht;
  let stats: Statistics;
  let state: DaemonState = 'running';
  let open: App;
  let guarded: App;

  before(async () => {
    net = await createTestnet(6);
    dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap: net.bootstrap });
    stats = new Statistics(dht, { tickMs: 60_000 });
    stats.start();
    await dht.start();
    const ctx = { dht, stats, storageBackend: 'memory', version: 'test', state: () => state };
    open = createApp({ ...ctx, token: undefined });
    guarded = createApp({ ...ctx, token: TOKEN });
  });

  after(async () => {
    stats.stop();
    await dht.close();
    await net.destroy();
  });

  it('reports health, and 503 while stopping', async () => {
    const res = await open.handle(req('GET', '/health'));
    assert.equal(res.status, 200);
    assert.equal(bodyOf(res).status, 'ok');
    assert.equal(bodyOf(res).bootstrapped, true);
    state = 'stopping';
    try {
      assert.equal((await open.handle(req('GET', '/health'))).status, 503);
      const write = await open.handle(req('POST', '/api/announce', { infohash: INFOHASH }));
      assert.equal(write.status, 503);
    } finally {
      state = 'running';
    }
  });

  it('serves status, routing table, lookups and the OpenAPI document', async () => {
    const status = bodyOf(await open.handle(req('GET', '/api/status')));
    assert.equal(status.id, Buffer.from(dht.id).toString('hex'));
    assert.deepEqual(status.routingTable, { nodes: dht.table.size, buckets: dht.table.bucketCount });
    const table = bodyOf(await open.handle(req('GET', '/api/routing-table')));
    assert.equal((table.nodes as unknown[]).length, dht.table.size);
    assert.equal((table.buckets as unknown[]).length, dht.table.bucketCount);
    const lookups = bodyOf(await open.handle(req('GET', '/api/lookups')));
    assert.ok((lookups.lookups as { kind: string }[]).some((l) => l.kind === 'bootstrap'));
    const doc = bodyOf(await open.handle(req('GET', '/openapi.json')));
    assert.equal(doc.openapi, '3.0.3');
    const paths = Object.keys(doc.paths as object);
    for (const p of [
      '/health',
      '/metrics',
      '/api/status',
      '/api/peers/{infohash}',
      '/api/announce',
      '/api/items/{target}',
    ])
      assert.ok(paths.includes(p), `openapi lists ${p}`);
  });

  it('requires the bearer token for writes when one is configured', async () => {
    const body = { infohash: INFOHASH, port: 5555 };
    const none = await guarded.handle(req('POST', '/api/announce', body));
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="kadmium"');
    const wrong = await guarded.handle(req('POST', '/api/announce', body, { authorization: 'Bearer nope' }));
    assert.equal(wrong.status, 401);
    assert.match(bodyOf(wrong).error ? JSON.stringify(bodyOf(wrong)) : '', /wrong/);
    // Reads stay open.
    assert.equal((await guarded.handle(req('GET', '/api/status'))).status, 200);
    const ok = await guarded.handle(req('POST', '/api/announce', body, { authorization: `Bearer ${TOKEN}` }));
    assert.equal(ok.status, 200, ok.body);
    assert.ok((bodyOf(ok).announcedTo as number) > 0);
  });

  it('announces, then finds the peer with get-peers', async () => {
    const hash = 'bb'.repeat(20);
    const a = await open.handle(req('POST', '/api/announce', { infohash: hash, port: 6001, seed: true }));
    assert.equal(a.status, 200, a.body);
    const p = await open.handle(req('GET', `/api/peers/${hash.toUpperCase()}?timeout=10`));
    assert.equal(p.status, 200, p.body);
    const peers = bodyOf(p).peers as { host: string; port: number }[];
    assert.ok(
      peers.some((x) => x.port === 6001 && x.host === '127.0.0.1'),
      p.body,
    );
  });

  it('validates request bodies with clear 4xx errors', async () => {
    const cases: [ApiRequest, number, string, RegExp][] = [
      [req('POST', '/api/announce', '{not json'), 400, 'BAD_JSON', /not valid JSON/],
      [req('POST', '/api/announce', '[1]'), 400, 'BAD_BODY', /JSON object/],
      [
        {
          ...req('POST', '/api/announce', { infohash: INFOHASH }),
          headers: { 'content-type': 'text/plain' },
        },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        /application\/json/,
      ],
      [req('POST', '/api/announce', { infohash: 'xyz' }), 422, 'INVALID_FIELD', /infohash must be 40 hex/],
      [req('POST', '/api/announce', {}), 400, 'INVALID_FIELD', /infohash must be 40 hex.*nothing/],
      [
        req('POST', '/api/announce', { infohash: INFOHASH, port: 70000 }),
        422,
        'INVALID_FIELD',
        /port must be a whole number 1-65535/,
      ],
      [
        req('POST', '/api/announce', { infohash: INFOHASH, seed: 'yes' }),
        422,
        'INVALID_FIELD',
        /seed must be true or false/,
      ],
      [
        req('POST', '/api/announce', { infohash: INFOHASH, prot: 1 }),
        422,
        'UNKNOWN_FIELD',
        /unknown field "prot"/,
      ],
      [
        req('POST', '/api/announce', { infohash: INFOHASH, pad: 'x'.repeat(20_000) }),
        413,
        'BODY_TOO_LARGE',
        /16384/,
      ],
      [req('GET', '/api/peers/1234'), 422, 'INVALID_FIELD', /infohash must be 40 hex/],
      [req('GET', `/api/peers/${INFOHASH}?timeout=-1`), 422, 'INVALID_FIELD', /timeout must be seconds/],
      [req('GET', '/api/nothing'), 404, 'NOT_FOUND', /no such endpoint/],
      [req('DELETE', '/api/status'), 405, 'METHOD_NOT_ALLOWED', /use GET/],
    ];
    for (const [request, status, code, message] of cases) {
      const res = await open.handle(request);
      assert.equal(res.status, status, `${request.method} ${request.url}: ${res.body}`);
      assert.equal(errorCode(res), code);
      assert.match((bodyOf(res).error as { message: string }).message, message);
    }
    assert.equal((await open.handle(req('DELETE', '/api/status'))).headers.allow, 'GET');
  });

  it('puts and gets BEP 44 items, immutable and mutable with salt, with clear errors', async () => {
    assert.equal((await guarded.handle(req('POST', '/api/items', { value: 'x' }))).status, 401);
    const put = await open.handle(req('POST', '/api/items', { value: 'hello from the API' }));
    assert.equal(put.status, 200, put.body);
    const { target } = bodyOf(put) as { target: string };
    const got = await open.handle(req('GET', `/api/items/${target}`));
    assert.equal(got.status, 200, got.body);
    assert.equal(bodyOf(got).value, 'hello from the API');

    const seed = 'ab'.repeat(32);
    const m1 = await open.handle(req('POST', '/api/items', { value: 'v1', mutable: { seed, salt: 'svc' } }));
    const m2 = await open.handle(req('POST', '/api/items', { value: 'v2', mutable: { seed, salt: 'svc' } }));
    assert.deepEqual([bodyOf(m1).seq, bodyOf(m2).seq], [0, 1]);
    const mt = bodyOf(m2).target as string;
    const latest = await open.handle(req('GET', `/api/items/${mt}?salt=svc`));
    assert.deepEqual([bodyOf(latest).value, bodyOf(latest).seq], ['v2', 1]);
    const noSalt = await open.handle(req('GET', `/api/items/${mt}`));
    assert.equal(noSalt.status, 404);
    assert.match(JSON.stringify(bodyOf(noSalt)), /needs \?salt=/);

    const stale = await open.handle(
      req('POST', '/api/items', { value: 'old', mutable: { seed, salt: 'svc', seq: 0 } }),
    );
    assert.equal(stale.status, 409);
    assert.equal(errorCode(stale), 'SEQ_CONFLICT');
    const big = await open.handle(req('POST', '/api/items', { value: 'x'.repeat(1200) }));
    assert.equal(big.status, 413);
    const badSeed = await open.handle(req('POST', '/api/items', { value: 'v', mutable: { seed: 'zz' } }));
    assert.equal(badSeed.status, 422);
    const unknown = await open.handle(req('POST', '/api/items', { value: 'v', mutable: { seed, nonce: 1 } }));
    assert.equal(errorCode(unknown), 'UNKNOWN_FIELD');
    assert.equal((await open.handle(req('GET', '/api/items/xyz'))).status, 422);
  });

  it('serves Prometheus metrics that parse and move with traffic', async () => {
    const before = parseMetrics((await open.handle(req('GET', '/metrics'))).body);
    const res = await open.handle(req('GET', `/api/peers/${'cc'.repeat(20)}`));
    assert.equal(res.status, 200);
    const metrics = await open.handle(req('GET', '/metrics'));
    assert.match(metrics.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    const afterM = parseMetrics(metrics.body);
    const name = 'kadmium_messages_sent_total';
    assert.ok(total(afterM, name, { method: 'get_peers' }) > total(before, name, { method: 'get_peers' }));
    assert.equal(
      total(afterM, 'kadmium_lookups_total', { kind: 'get_peers' }),
      total(before, 'kadmium_lookups_total', { kind: 'get_peers' }) + 1,
    );
    assert.equal(total(afterM, 'kadmium_routing_table_nodes'), dht.table.size);
  });

  it('serves the dashboard page and HEAD without a body', async () => {
    const page = await open.handle(req('GET', '/'));
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'] ?? '', /text\/html/);
    assert.match(page.body, /new EventSource\('\/events'\)/);
    assert.doesNotMatch(page.body, /https?:\/\/(?!127)/, 'no CDN or remote URL');
    const head = await open.handle(req('HEAD', '/health'));
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });
});
