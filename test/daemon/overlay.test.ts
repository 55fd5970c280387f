/**
 * The daemon's overlay: config keys and their errors, the API routes with the overlay off, and a
 * daemon joined to a loopback overlay testnet putting and getting through its API, checked
 * through another overlay node, the token rule, metrics, and a clean close.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import {
  createOverlayTestnet,
  formatOverlayBootstrap,
  type OverlayTestnet,
} from '../../src/node/overlay-tcp.js';
import { overlayIdOf } from '../../src/protocols/overlay/identity.js';
import { checkDynamic } from '../../src/protocols/overlay/puzzle.js';
import { fromHex } from '../../src/util/bytes.js';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../storage/redis-server.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

const TOKEN = 'overlay-test-token-0123456789';
const PUBKEY = `02${'ab'.repeat(32)}`;

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the config to be refused');
}

function overlayFlags(bootstrap: string[] = []): Record<string, string> {
  return {
    'storage.backend': 'memory',
    'overlay.enabled': 'true',
    'overlay.host': '127.0.0.1',
    'overlay.port': '0',
    'overlay.difficulty': '0/0',
    'overlay.bootstrap': bootstrap.length > 0 ? bootstrap.join(',') : 'none',
  };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function post(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function code(body: Record<string, unknown>): unknown {
  return (body.error as { code?: unknown } | undefined)?.code;
}

describe('daemon overlay config', () => {
  it('is off by default, with the documented defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-ov-cfg-'));
    const c = loadConfig({ env: {}, flags: { data_dir: dir } });
    assert.equal(c.overlay.enabled, false);
    assert.equal(c.overlay.port, 7900);
    assert.deepEqual(c.overlay.bootstrap, []);
    assert.equal(c.overlay.keyFile, join(dir, 'overlay.key'));
    assert.deepEqual(c.overlay.difficulty, { staticBits: 10, dynamicBits: 16 });
    assert.equal(c.overlay.paths, 3);
    assert.equal(c.overlay.fullNode, false);
  });

  it('reads the [overlay] table of the TOML file, and env over file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-ov-cfg-'));
    writeFileSync(
      join(dir, 'kadmium.toml'),
      `[overlay]\nenabled = true\nport = 7999\nbootstrap = ["${PUBKEY}@127.0.0.1:7900"]\n` +
        `full_node = true\nkey_file = "keys/ov.key"\ndifficulty = "4/8"\npaths = 2\n`,
    );
    const c = loadConfig({ env: { KADMIUM_OVERLAY_PORT: '7998' }, flags: { data_dir: dir }, cwd: dir });
    assert.equal(c.overlay.enabled, true);
    assert.equal(c.overlay.port, 7998);
    assert.equal(c.sources['overlay.port'], 'env KADMIUM_OVERLAY_PORT');
    assert.deepEqual(c.overlay.bootstrap, [`${PUBKEY}@127.0.0.1:7900`]);
    assert.equal(c.overlay.fullNode, true);
    assert.equal(c.overlay.keyFile, join(dir, 'keys/ov.key'));
    assert.deepEqual(c.overlay.difficulty, { staticBits: 4, dynamicBits: 8 });
    assert.equal(c.overlay.paths, 2);
  });

  it('refuses a bootstrap entry that is not PUBKEY@HOST:PORT, naming the key and the fix', () => {
    const noKey = configError(() =>
      loadConfig({ env: { KADMIUM_OVERLAY_BOOTSTRAP: '127.0.0.1:7900' }, flags: { data_dir: tmpdir() } }),
    );
    assert.match(noKey, /overlay\.bootstrap \(env KADMIUM_OVERLAY_BOOTSTRAP\)/);
    assert.match(noKey, /PUBKEY@HOST:PORT with a 66-hex-character public key/);
    const shortKey = configError(() =>
      loadConfig({ env: {}, flags: { data_dir: tmpdir(), 'overlay.bootstrap': `abcd@127.0.0.1:7900` } }),
    );
    assert.match(shortKey, /overlay\.bootstrap \(flag\)/);
    const badPort = configError(() =>
      loadConfig({
        env: {},
        flags: { data_dir: tmpdir(), 'overlay.bootstrap': `${PUBKEY}@127.0.0.1:99999` },
      }),
    );
    assert.match(badPort, /overlay\.bootstrap/);
  });

  it('refuses a difficulty that is not STATIC/DYNAMIC bits within the limit', () => {
    for (const bad of ['10', '10/', 'ten/16', '41/0', '0/41', '-1/3']) {
      const msg = configError(() =>
        loadConfig({ env: {}, flags: { data_dir: tmpdir(), 'overlay.difficulty': bad } }),
      );
      assert.match(msg, /overlay\.difficulty \(flag\): must be STATIC\/DYNAMIC puzzle bits, each 0-40/, bad);
    }
  });

  it('refuses paths outside 1-16', () => {
    assert.match(
      configError(() => loadConfig({ env: {}, flags: { data_dir: tmpdir(), 'overlay.paths': '0' } })),
      /overlay\.paths/,
    );
  });
});

describe('daemon overlay routes with the overlay disabled', () => {
  let daemon: Daemon;

  before(async () => {
    daemon = await Daemon.start({
      config: testConfig([], { 'storage.backend': 'memory', 'api.token': TOKEN }),
      log: memoryLogger().log,
    });
  });

  after(async () => {
    await daemon?.stop('test');
  });

  it('answers 404 OVERLAY_DISABLED on every overlay route, saying how to enable it', async () => {
    assert.equal(daemon.overlay, undefined);
    const status = await getJson(`${daemon.url}api/overlay/status`);
    assert.equal(status.status, 404);
    assert.equal(code(status.body), 'OVERLAY_DISABLED');
    assert.match(String((status.body.error as { message: string }).message), /overlay\.enabled = true/);
    const item = await getJson(`${daemon.url}api/overlay/items/${PUBKEY}`);
    assert.equal(item.status, 404);
    assert.equal(code(item.body), 'OVERLAY_DISABLED');
    const put = await post(`${daemon.url}api/overlay/items`, { value: 'x' }, TOKEN);
    assert.equal(put.status, 404);
    assert.equal(code(put.body), 'OVERLAY_DISABLED');
    // The token rule still comes first: no token, no hint about what runs here.
    const anonymous = await post(`${daemon.url}api/overlay/items`, { value: 'x' });
    assert.equal(anonymous.status, 401);
    const metrics = await (await fetch(`${daemon.url}metrics`)).text();
    assert.doesNotMatch(metrics, /kadmium_overlay_/);
  });

  it('documents the overlay routes in the OpenAPI document', async () => {
    const doc = (await getJson(`${daemon.url}openapi.json`)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    assert.ok(doc.paths['/api/overlay/status']?.get);
    assert.ok(doc.paths['/api/overlay/items']?.post);
    assert.ok(doc.paths['/api/overlay/items/{publicKey}']?.get);
    assert.deepEqual((doc.paths['/api/overlay/items']?.post as { security: unknown }).security, [
      { bearer: [] },
      {},
    ]);
  });
});

describe('daemon with the overlay beside an overlay testnet', { timeout: 120_000 }, () => {
  let net: OverlayTestnet;
  let daemon: Daemon | undefined;
  let dataDir: string;

  before(async () => {
    net = await createOverlayTestnet(8);
    const config = testConfig([], {
      ...overlayFlags([formatOverlayBootstrap(net.nodes[0] as OverlayTestnet['nodes'][number])]),
      'api.token': TOKEN,
    });
    dataDir = config.dataDir;
    daemon = await Daemon.start({ config, log: memoryLogger().log });
  });

  after(async () => {
    await daemon?.stop('test');
    await net?.destroy();
  });

  it('creates its key file 0600 in the data dir and reports PUBKEY@HOST:PORT', async () => {
    const d = daemon as Daemon;
    const keyFile = join(dataDir, 'overlay.key');
    assert.ok(existsSync(keyFile));
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const status = await waitFor(
      async () => {
        const s = await getJson(`${d.url}api/overlay/status`);
        return s.status === 200 && (s.body.contacts as number) >= 4 ? s : undefined;
      },
      20_000,
      'the overlay to fill its table',
    );
    const pub = Buffer.from(d.overlay?.node.publicKey as Uint8Array).toString('hex');
    assert.equal(status.body.publicKey, pub);
    assert.equal(status.body.address, `${pub}@127.0.0.1:${d.overlay?.node.address.port}`);
    assert.deepEqual(Object.keys(status.body.items as object).sort(), ['public', 'trusted', 'whitelisted']);
    const rpc = status.body.rpc as { outbound: Record<string, { tx: number }> };
    assert.ok((rpc.outbound.ping?.tx ?? 0) >= 1, 'the join pinged the bootstrap node');
  });

  it('refuses a put without the token', async () => {
    const d = daemon as Daemon;
    const res = await post(`${d.url}api/overlay/items`, { value: 'sneaky' });
    assert.equal(res.status, 401);
    const wrong = await post(`${d.url}api/overlay/items`, { value: 'sneaky' }, `${TOKEN}x`);
    assert.equal(wrong.status, 401);
  });

  it('refuses a put from another web page (Origin), even with the token', async () => {
    const d = daemon as Daemon;
    const before = d.overlay?.stats.snapshot().puts.ok;
    const url = new URL(`${d.url}api/overlay/items`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${TOKEN}`,
            origin: 'http://evil.example',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
      req.end(JSON.stringify({ value: 'from a web page' }));
    });
    assert.equal(status, 403);
    assert.equal(d.overlay?.stats.snapshot().puts.ok, before, 'nothing was put');
  });

  it('refuses a seq sent as a JSON number, and unknown fields', async () => {
    const d = daemon as Daemon;
    const numeric = await post(`${d.url}api/overlay/items`, { value: 'v', cas: 5 }, TOKEN);
    assert.equal(numeric.status, 422);
    assert.match(String((numeric.body.error as { message: string }).message), /decimal string/);
    const unknown = await post(`${d.url}api/overlay/items`, { value: 'v', seq: '5' }, TOKEN);
    assert.equal(unknown.status, 422);
    assert.equal(code(unknown.body), 'UNKNOWN_FIELD');
  });

  it('puts through the API, then gets through the API and through another overlay node', async () => {
    const d = daemon as Daemon;
    const put = await post(`${d.url}api/overlay/items`, { value: 'hello overlay', salt: 'dmsg' }, TOKEN);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(typeof put.body.seq, 'string');
    assert.ok((put.body.stored as number) >= 1);
    const pub = put.body.publicKey as string;

    const got = await getJson(`${d.url}api/overlay/items/${pub}?salt=dmsg`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.value, 'hello overlay');
    assert.equal(got.body.seq, put.body.seq);
    assert.equal(got.body.target, put.body.target);
    assert.equal(got.body.deleted, false);

    const other = net.nodes[5] as OverlayTestnet['nodes'][number];
    const remote = await other.get(fromHex(pub) as Uint8Array, { salt: new TextEncoder().encode('dmsg') });
    assert.ok(remote, 'another overlay node finds the item');
    assert.equal(new TextDecoder().decode(remote.item.v), 'hello overlay');
    assert.equal(remote.item.seq.toString(), put.body.seq);

    // A second put under the same salt, CAS on the first seq, in base64: a higher seq wins.
    const second = await post(
      `${d.url}api/overlay/items`,
      {
        value: Buffer.from('second').toString('base64'),
        encoding: 'base64',
        salt: 'dmsg',
        cas: put.body.seq,
      },
      TOKEN,
    );
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.ok(BigInt(second.body.seq as string) > BigInt(put.body.seq as string));
    const again = await getJson(`${d.url}api/overlay/items/${pub}?salt=dmsg`);
    assert.equal(again.body.value, 'second');

    const missing = await getJson(`${d.url}api/overlay/items/${pub}?salt=nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal(code(missing.body), 'NOT_FOUND');
    const badKey = await getJson(`${d.url}api/overlay/items/abcd`);
    assert.equal(badKey.status, 422);
  });

  it('exports overlay metrics and the dashboard figures', async () => {
    const d = daemon as Daemon;
    const metrics = await (await fetch(`${d.url}metrics`)).text();
    const contacts = /^kadmium_overlay_contacts (\d+)$/m.exec(metrics);
    assert.ok(contacts && Number(contacts[1]) >= 4, 'contacts gauge');
    assert.match(metrics, /^kadmium_overlay_rpc_sent_total\{method="put_value"\} [1-9]\d*$/m);
    assert.match(metrics, /^kadmium_overlay_lookups_total\{kind="get_value"\} [1-9]\d*$/m);
    assert.match(metrics, /^kadmium_overlay_lies_total 0$/m);
    assert.match(metrics, /^kadmium_overlay_busy_replies_total 0$/m);
    const live = await getJson(`${d.url}api/stats`);
    const panel = live.body.overlay as { address: string; contacts: number; recentLookups: unknown[] };
    assert.equal(panel.address, d.overlay?.address);
    assert.ok(panel.recentLookups.length >= 1);
  });

  it('closes the overlay listener on stop', async () => {
    const d = daemon as Daemon;
    const port = d.overlay?.node.address.port as number;
    await d.stop('test');
    daemon = undefined;
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.setTimeout(5_000, () => {
        s.destroy();
        resolve(false);
      });
      s.on('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.on('error', () => resolve(true));
    });
    assert.ok(refused, 'the overlay port no longer accepts connections');
  });
});

describe('daemon overlay on SQLite across a restart', { timeout: 60_000 }, () => {
  let daemon: Daemon | undefined;

  after(async () => {
    await daemon?.stop('test');
  });

  it('keeps its key, items and seqs in the data dir, apart from the Mainline node', async () => {
    const config = testConfig([], {
      ...overlayFlags(),
      'storage.backend': 'sqlite',
    });
    daemon = await Daemon.start({ config, log: memoryLogger().log });
    const first = await post(`${daemon.url}api/overlay/items`, { value: 'kept', salt: 's' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.storedLocally, true, 'alone, the node keeps its own item');
    const pub = first.body.publicKey as string;
    const status = await getJson(`${daemon.url}api/overlay/status`);
    assert.match(String(status.body.storage), /overlay\.sqlite$/);
    assert.equal((status.body.items as { public: number }).public, 1);
    await daemon.stop('test');
    daemon = undefined;
    assert.ok(existsSync(join(config.dataDir, 'overlay.sqlite')));
    assert.ok(existsSync(join(config.dataDir, 'kadmium.sqlite')));

    daemon = await Daemon.start({ config, log: memoryLogger().log });
    assert.equal(Buffer.from(daemon.overlay?.node.publicKey as Uint8Array).toString('hex'), pub);
    const got = await getJson(`${daemon.url}api/overlay/items/${pub}?salt=s`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.value, 'kept');
    const next = await post(`${daemon.url}api/overlay/items`, { value: 'newer', salt: 's' });
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.ok(
      BigInt(next.body.seq as string) > BigInt(first.body.seq as string),
      'a restarted publisher never reuses a seq',
    );
  });
});

describe('daemon overlay start failures', () => {
  it('fails the start, naming the port, when the overlay port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as AddressInfo).port;
      const config = testConfig([], { ...overlayFlags(), 'overlay.port': String(port) });
      await assert.rejects(
        Daemon.start({ config, log: memoryLogger().log }),
        new RegExp(`cannot start the overlay on tcp 127\\.0\\.0\\.1:${port}: .*overlay\\.port`),
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('saves a new dynamic-puzzle solution when the network raises the difficulty', async () => {
    const config = testConfig([], overlayFlags());
    const first = await Daemon.start({ config, log: memoryLogger().log });
    const pub = Buffer.from(first.overlay?.node.publicKey as Uint8Array).toString('hex');
    await first.stop('test');
    const before = JSON.parse(readFileSync(config.overlay.keyFile, 'utf8')) as { puzzle: string };
    const raised = {
      ...config,
      overlay: { ...config.overlay, difficulty: { staticBits: 0, dynamicBits: 8 } },
    };
    const second = await Daemon.start({ config: raised, log: memoryLogger().log });
    await second.stop('test');
    const after = JSON.parse(readFileSync(config.overlay.keyFile, 'utf8')) as {
      puzzle: string;
      publicKey: string;
    };
    assert.equal(after.publicKey, pub, 'the same identity');
    const id = overlayIdOf(fromHex(pub) as Uint8Array);
    const meets = (puzzle: string): boolean => checkDynamic(id, fromHex(puzzle) as Uint8Array, 8);
    // 1 in 256 solutions for 0 bits already meet 8; then there is nothing to save.
    if (!meets(before.puzzle)) assert.notEqual(after.puzzle, before.puzzle, 'a new solution was saved');
    assert.ok(meets(after.puzzle), 'the saved solution meets 8 bits');
    assert.equal(statSync(config.overlay.keyFile).mode & 0o777, 0o600);
  });

  it('refuses a key file that others can read', async () => {
    const config = testConfig([], overlayFlags());
    const first = await Daemon.start({ config, log: memoryLogger().log });
    await first.stop('test');
    chmodSync(config.overlay.keyFile, 0o644);
    await assert.rejects(
      Daemon.start({ config, log: memoryLogger().log }),
      /readable by group or others.*chmod 600/,
    );
  });
});

describe('daemon overlay on Redis', { timeout: 60_000 }, () => {
  let redis: RedisServer | undefined;
  const daemons: Daemon[] = [];

  after(async () => {
    for (const d of daemons) await d.stop('test');
    await redis?.stop();
  });

  it('keeps items under <namespace>overlay:, shared by daemons on one Redis, apart from Mainline keys', async () => {
    redis = await startRedisServer();
    const flags = {
      ...overlayFlags(),
      'storage.backend': 'redis',
      'storage.redis_url': redis.url,
      'storage.namespace': 'net1:',
      'overlay.full_node': 'true',
    };
    const a = await Daemon.start({ config: testConfig([], flags), log: memoryLogger().log });
    daemons.push(a);
    const b = await Daemon.start({ config: testConfig([], flags), log: memoryLogger().log });
    daemons.push(b);
    const status = await getJson(`${a.url}api/overlay/status`);
    assert.equal(status.body.storage, `redis ${redis.url} namespace net1:overlay:`);

    const put = await post(`${a.url}api/overlay/items`, { value: 'shared', salt: 'r' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // b never talked to a: it reads the item a stored from the Redis both use.
    const got = await getJson(`${b.url}api/overlay/items/${put.body.publicKey as string}?salt=r`);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.value, 'shared');

    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      const keys = await client.keys('*');
      const overlayKeys = keys.filter((k) => k.startsWith('net1:overlay:'));
      assert.ok(overlayKeys.includes(`net1:overlay:item:${put.body.target as string}`), keys.join(' '));
      assert.ok(
        keys.every((k) => !k.startsWith('net1:item')),
        'no overlay item landed among the Mainline keys',
      );
    } finally {
      client.disconnect();
    }
  });
});
