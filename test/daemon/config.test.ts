import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/daemon/config.js';
import { createLogger } from '../../src/daemon/logger.js';
import { DEFAULT_ANOMALY_OPTIONS } from '../../src/services/anomaly.js';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'kadmium-config-'));
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('daemon config', () => {
  it('has safe defaults: API on loopback, SQLite in the data dir', () => {
    const c = loadConfig({ env: {}, flags: { data_dir: dir() } });
    assert.equal(c.api.host, '127.0.0.1');
    assert.equal(c.api.port, 7881);
    assert.equal(c.api.token, undefined);
    assert.equal(c.node.port, 6881);
    assert.ok(c.node.bootstrap.includes('router.bittorrent.com:6881'));
    assert.equal(c.storage.backend, 'sqlite');
    assert.equal(c.sources['api.port'], 'default');
  });

  it('exempts loopback from the rate limit unless node.rate_limit_loopback is set', () => {
    const d = dir();
    assert.equal(loadConfig({ env: {}, flags: { data_dir: d } }).node.rateLimitLoopback, false);
    const env = loadConfig({ env: { KADMIUM_NODE_RATE_LIMIT_LOOPBACK: 'true' }, flags: { data_dir: d } });
    assert.equal(env.node.rateLimitLoopback, true);
    const flag = loadConfig({ env: {}, flags: { data_dir: d, 'node.rate_limit_loopback': 'true' } });
    assert.equal(flag.node.rateLimitLoopback, true);
  });

  it('layers file < environment < flags', () => {
    const d = dir();
    writeFileSync(
      join(d, 'kadmium.toml'),
      '[node]\nport = 7000\nbootstrap = ["10.0.0.1:6881"]\n[api]\nport = 9000\n[log]\nlevel = "debug"\n',
    );
    const c = loadConfig({
      env: { KADMIUM_DATA_DIR: d, KADMIUM_API_PORT: '9100', KADMIUM_LOG_LEVEL: 'warn' },
      flags: { 'log.level': 'error' },
    });
    assert.equal(c.file, join(d, 'kadmium.toml'));
    assert.equal(c.node.port, 7000, 'from the file');
    assert.deepEqual(c.node.bootstrap, ['10.0.0.1:6881']);
    assert.equal(c.api.port, 9100, 'env beats file');
    assert.equal(c.log.level, 'error', 'flag beats env');
    assert.equal(c.sources['node.port'], `file ${join(d, 'kadmium.toml')}`);
    assert.equal(c.sources['api.port'], 'env KADMIUM_API_PORT');
    assert.equal(c.sources['log.level'], 'flag');
  });

  it('the subnet-replies settings are config keys, defaulting to the detector, with clear errors', () => {
    const d = dir();
    const c = loadConfig({ env: {}, flags: { data_dir: d } });
    assert.equal(c.anomaly.replyShare, DEFAULT_ANOMALY_OPTIONS.replyShare);
    assert.equal(c.anomaly.replyWindowTicks, DEFAULT_ANOMALY_OPTIONS.replyWindowTicks);
    assert.equal(c.anomaly.minReplies, DEFAULT_ANOMALY_OPTIONS.minReplies);
    const set = loadConfig({
      env: { KADMIUM_ANOMALY_REPLY_SHARE: '0.15' },
      flags: { data_dir: d, 'anomaly.reply_window_ticks': '60', 'anomaly.min_replies': '200' },
    });
    assert.deepEqual(
      [set.anomaly.replyShare, set.anomaly.replyWindowTicks, set.anomaly.minReplies],
      [0.15, 60, 200],
    );
    const found = problems(() =>
      loadConfig({
        env: { KADMIUM_ANOMALY_REPLY_SHARE: '20%' },
        flags: { data_dir: d, 'anomaly.reply_window_ticks': '0', 'anomaly.min_replies': '1.5' },
      }),
    );
    assert.equal(found.length, 3, found.join('\n'));
    assert.match(
      found.join('\n'),
      /anomaly\.reply_share \(env KADMIUM_ANOMALY_REPLY_SHARE\): must be a number 0\.01-1, got "20%"/,
    );
    assert.match(
      found.join('\n'),
      /anomaly\.reply_window_ticks \(flag\): must be a whole number 1-3600, got "0"/,
    );
    assert.match(
      found.join('\n'),
      /anomaly\.min_replies \(flag\): must be a whole number 1-1000000000, got "1.5"/,
    );
  });

  it('the target-density threshold is a config key, defaulting to the detector, with a clear error', () => {
    const d = dir();
    assert.equal(
      loadConfig({ env: {}, flags: { data_dir: d } }).anomaly.densityBits,
      DEFAULT_ANOMALY_OPTIONS.densityBits,
    );
    assert.equal(DEFAULT_ANOMALY_OPTIONS.densityBits, 3);
    const set = loadConfig({ env: { KADMIUM_ANOMALY_DENSITY_BITS: '4.5' }, flags: { data_dir: d } });
    assert.equal(set.anomaly.densityBits, 4.5);
    for (const bad of ['0', '-3', 'three', '200']) {
      const found = problems(() =>
        loadConfig({ env: {}, flags: { data_dir: d, 'anomaly.density_bits': bad } }),
      );
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(
        found[0] as string,
        new RegExp(`^anomaly\\.density_bits \\(flag\\): must be a number 0\\.5-64, got "${bad}"`),
      );
    }
  });

  it('names the bad key, its source and the reason', () => {
    const d = dir();
    const file = join(d, 'conf.toml');
    writeFileSync(file, '[api]\nprot = 1\n[node]\nport = "high"\n');
    const found = problems(() =>
      loadConfig({
        configFile: file,
        env: { KADMIUM_NODE_K: 'lots' },
        flags: { 'log.format': 'xml', data_dir: d },
      }),
    );
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found[0] ?? '', /^api\.prot \(file .*conf\.toml\): unknown key/);
    assert.match(found[1] ?? '', /^node\.port \(file .*\): must be a whole number 0-65535, got "high"/);
    assert.match(found[2] ?? '', /^node\.k \(env KADMIUM_NODE_K\): must be a whole number 1-64, got "lots"/);
    assert.match(found[3] ?? '', /^log\.format \(flag\): must be one of auto, json, pretty, got "xml"/);
  });

  it('refuses an API beyond loopback without a token, and short tokens', () => {
    const [p] = problems(() => loadConfig({ env: {}, flags: { 'api.host': '0.0.0.0', data_dir: dir() } }));
    assert.match(p ?? '', /^api\.token .*required when the API listens beyond loopback/);
    const [short] = problems(() =>
      loadConfig({ env: { KADMIUM_API_TOKEN: 'abc' }, flags: { data_dir: dir() } }),
    );
    assert.match(short ?? '', /^api\.token \(env KADMIUM_API_TOKEN\): must be at least 16 characters/);
    const ok = loadConfig({
      env: { KADMIUM_API_TOKEN: 'a'.repeat(24) },
      flags: { 'api.host': '0.0.0.0', data_dir: dir() },
    });
    assert.equal(ok.api.token, 'a'.repeat(24));
  });

  it('reads the HTTP hardening keys: allowed hosts, per-address cap, timeouts in seconds', () => {
    const defaults = loadConfig({ env: {}, flags: { data_dir: dir() } }).api;
    assert.deepEqual(defaults.allowedHosts, []);
    assert.equal(defaults.maxConnectionsPerIp, 64);
    assert.deepEqual(
      [defaults.headersTimeoutMs, defaults.requestTimeoutMs, defaults.bodyIdleTimeoutMs],
      [5_000, 10_000, 5_000],
    );
    const d = dir();
    writeFileSync(join(d, 'kadmium.toml'), '[api]\nallowed_hosts = ["Kadmium.LAN", "[fd00::5]:7881"]\n');
    const c = loadConfig({
      env: { KADMIUM_API_MAX_CONNECTIONS_PER_IP: '8', KADMIUM_API_BODY_TIMEOUT_S: '2' },
      flags: { data_dir: d },
    }).api;
    assert.deepEqual(c.allowedHosts, ['kadmium.lan', '[fd00::5]:7881']);
    assert.equal(c.maxConnectionsPerIp, 8);
    assert.equal(c.bodyIdleTimeoutMs, 2_000);
    const fromEnv = loadConfig({
      env: { KADMIUM_API_ALLOWED_HOSTS: 'a.lan, b.lan:80' },
      flags: { data_dir: dir() },
    });
    assert.deepEqual(fromEnv.api.allowedHosts, ['a.lan', 'b.lan:80']);
    const [bad] = problems(() =>
      loadConfig({ env: { KADMIUM_API_ALLOWED_HOSTS: 'http://a.lan/' }, flags: { data_dir: dir() } }),
    );
    assert.match(
      bad ?? '',
      /^api\.allowed_hosts \(env KADMIUM_API_ALLOWED_HOSTS\): entries must be host names/,
    );
    const [order] = problems(() =>
      loadConfig({
        env: { KADMIUM_API_HEADERS_TIMEOUT_S: '30', KADMIUM_API_REQUEST_TIMEOUT_S: '10' },
        flags: { data_dir: dir() },
      }),
    );
    assert.match(order ?? '', /^api\.headers_timeout_s .* longer than api\.request_timeout_s/);
  });

  it('privacy.rotate_every_s: off by default, hourly in the private profile, bounded, 0 turns it off', () => {
    const d = dir();
    assert.equal(loadConfig({ env: {}, flags: { data_dir: d } }).privacy.rotateEveryMs, 0);
    const priv = loadConfig({ env: { KADMIUM_PRIVACY_PROFILE: 'private' }, flags: { data_dir: d } });
    assert.equal(priv.privacy.rotateEveryMs, 3_600_000);
    const off = loadConfig({
      env: { KADMIUM_PRIVACY_PROFILE: 'private' },
      flags: { data_dir: d, 'privacy.rotate_every_s': '0' },
    });
    assert.equal(off.privacy.rotateEveryMs, 0, 'an explicit 0 beats the profile default');
    const std = loadConfig({ env: { KADMIUM_PRIVACY_ROTATE_EVERY_S: '600' }, flags: { data_dir: d } });
    assert.equal(std.privacy.rotateEveryMs, 600_000);
    for (const bad of ['5', '59', '604801', '-1', 'hourly']) {
      const found = problems(() =>
        loadConfig({ env: {}, flags: { data_dir: d, 'privacy.rotate_every_s': bad } }),
      );
      assert.equal(found.length, 1, bad);
      assert.match(
        found[0] ?? '',
        /^privacy\.rotate_every_s \(flag\): must be 0 \(off\) or 60-604800 seconds/,
        bad,
      );
    }
  });

  it('reports TOML syntax errors with the line, and a missing --config file', () => {
    const d = dir();
    const file = join(d, 'bad.toml');
    writeFileSync(file, '[node]\nport = \n');
    const [p] = problems(() => loadConfig({ configFile: file, env: {} }));
    assert.match(p ?? '', /is not valid TOML at line 2/);
    const [missing] = problems(() => loadConfig({ configFile: join(d, 'nope.toml'), env: {} }));
    assert.match(missing ?? '', /nope\.toml does not exist/);
  });

  it('parses bootstrap lists, "none", booleans and unknown storage backends', () => {
    const d = dir();
    const c = loadConfig({
      env: { KADMIUM_NODE_BOOTSTRAP: '127.0.0.1:1, [::1]:2', KADMIUM_API_ENABLED: 'no' },
      flags: { data_dir: d },
    });
    assert.deepEqual(c.node.bootstrap, ['127.0.0.1:1', '[::1]:2']);
    assert.equal(c.api.enabled, false);
    assert.deepEqual(
      loadConfig({ env: {}, flags: { data_dir: d, 'node.bootstrap': 'none' } }).node.bootstrap,
      [],
    );
    const [bad] = problems(() => loadConfig({ env: {}, flags: { data_dir: d, 'node.bootstrap': 'nohost' } }));
    assert.match(bad ?? '', /^node\.bootstrap \(flag\): "nohost" is not HOST:PORT/);
    const [storage] = problems(() =>
      loadConfig({ env: {}, flags: { data_dir: d, 'storage.backend': 'postgres' } }),
    );
    assert.match(
      storage ?? '',
      /^storage\.backend \(flag\): must be one of sqlite, memory, redis, got "postgres"/,
    );
    const [redis] = problems(() =>
      loadConfig({ env: {}, flags: { data_dir: d, 'storage.backend': 'redis' } }),
    );
    assert.match(
      redis ?? '',
      /^storage\.redis_url \(flag sets storage\.backend = redis\): the redis backend needs a URL/,
    );
    const [url] = problems(() =>
      loadConfig({ env: {}, flags: { data_dir: d, 'storage.redis_url': 'localhost' } }),
    );
    assert.match(url ?? '', /^storage\.redis_url \(flag\): must be a URL like redis:/);
  });
});

describe('daemon logger', () => {
  it('writes JSON lines with fields, and honours the level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l), now: () => 0 });
    log.debug('hidden');
    log.child({ component: 'http' }).warn('slow', { ms: 12, id: new Uint8Array([1, 255]) });
    assert.equal(lines.length, 1);
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      time: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      msg: 'slow',
      component: 'http',
      ms: 12,
      id: '01ff',
    });
  });

  it('is pretty on a terminal in auto mode', () => {
    const lines: string[] = [];
    const log = createLogger({ format: 'auto', isTTY: true, write: (l) => lines.push(l), now: () => 0 });
    log.info('hello', { a: 1 });
    assert.match(lines[0] ?? '', /^00:00:00 .*INFO .* hello .*a=1/);
  });
});
