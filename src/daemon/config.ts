/**
 * The daemon's configuration: defaults, then a TOML file, then KADMIUM_* environment variables,
 * then command-line flags (flags win). Every value is validated; a bad one fails the start with
 * the key, where it came from, and what a right value looks like.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { KadmiumError } from '../util/errors.js';
import type { PuzzleDifficulty } from '../protocols/overlay/puzzle.js';
import { type AnomalyOptions } from '../services/anomaly.js';
import {
  type ConfigKey,
  envName,
  type KeySpec,
  type LogFormat,
  type LogLevel,
  PRIVATE_ROTATE_EVERY_S,
  SCHEMA,
} from './config-schema.js';

export const CONFIG_FILE_NAME = 'kadmium.toml';
/** The overlay key file's name in the data dir, when overlay.key_file is not set. */
export const OVERLAY_KEY_FILE = 'overlay.key';

export interface DaemonConfig {
  dataDir: string;
  node: {
    host: string;
    port: number;
    bootstrap: string[];
    k: number;
    readOnly: boolean;
    fullNode: boolean;
    rateLimitLoopback: boolean;
    relay: boolean;
  };
  api: {
    enabled: boolean;
    host: string;
    port: number;
    token: string | undefined;
    /** Names besides the bound address accepted in Host and Origin. */
    allowedHosts: string[];
    maxConnectionsPerIp: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    bodyIdleTimeoutMs: number;
  };
  log: { level: LogLevel; format: LogFormat };
  storage: { backend: string; redisUrl: string; namespace: string };
  table: { saveIntervalMs: number };
  stats: { tickMs: number };
  /** Resource budgets (node/budget.ts); 0 turns one off. */
  budget: { memoryMb: number; lagMs: number };
  anomaly: AnomalyOptions;
  privacy: {
    profile: 'standard' | 'private';
    peerTtlS: number;
    recentLookups: number;
    /** Milliseconds between fresh node ids and ports; 0 = never. */
    rotateEveryMs: number;
  };
  overlay: OverlayConfig;
  /** Where each key's value came from: "default", "file PATH", "env NAME", "flag". */
  sources: Record<string, string>;
  /** The config file read, if any. */
  file: string | undefined;
}

/** The `[overlay]` section: the secp256k1 overlay DHT the daemon may run beside the Mainline node. */
export interface OverlayConfig {
  enabled: boolean;
  host: string;
  /** The host others dial; '' = `host` unless that is a wildcard. */
  advertiseHost: string;
  port: number;
  /** PUBKEY@HOST:PORT, validated. */
  bootstrap: string[];
  fullNode: boolean;
  /** Offer a splice relay (on relayPort) for NATed overlay nodes; relays to wait at and dial through. */
  offerRelay: boolean;
  relayPort: number;
  relays: string[];
  /** Absolute path of the key file (default DATA_DIR/overlay.key). */
  keyFile: string;
  difficulty: PuzzleDifficulty;
  paths: number;
}

export class ConfigError extends KadmiumError {
  constructor(readonly problems: string[]) {
    super(
      'CONFIG',
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration:\n  ${problems.join('\n  ')}`,
    );
  }
}

export interface ConfigInput {
  /** Values from command-line flags, by config key (strings as typed). */
  flags?: Partial<Record<ConfigKey, string>>;
  /** Usually process.env. */
  env?: NodeJS.ProcessEnv;
  /** --config: a file that must exist. Otherwise KADMIUM_CONFIG, else DATA_DIR/kadmium.toml if present. */
  configFile?: string;
  /** Resolve relative paths against this directory (default: process.cwd()). */
  cwd?: string;
}

const BY_KEY = new Map<string, KeySpec<unknown>>(SCHEMA.map((s) => [s.key, s as KeySpec<unknown>]));

export function loadConfig(input: ConfigInput = {}): DaemonConfig {
  const env = input.env ?? {};
  const flags = input.flags ?? {};
  const cwd = input.cwd ?? process.cwd();
  const problems: string[] = [];
  const values = new Map<string, unknown>();
  const sources: Record<string, string> = {};

  const set = (key: string, raw: unknown, text: boolean, source: string): void => {
    const spec = BY_KEY.get(key);
    if (!spec) {
      problems.push(`${key} (${source}): unknown key; known keys are ${[...BY_KEY.keys()].join(', ')}`);
      return;
    }
    const parsed = spec.parse(raw, text);
    if ('error' in parsed) problems.push(`${key} (${source}): ${parsed.error}`);
    else {
      values.set(key, parsed.value);
      sources[key] = source;
    }
  };

  // The data dir decides where the default config file is, so read it from env and flags first.
  const earlyDataDir = flags.data_dir ?? env[envName('data_dir')];
  const explicit = input.configFile ?? env.KADMIUM_CONFIG;
  let file: string | undefined;
  if (explicit !== undefined) {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError([`config file ${file} does not exist`]);
  } else {
    const dir = earlyDataDir ? resolve(cwd, earlyDataDir) : String(defaultOf('data_dir'));
    const candidate = join(dir, CONFIG_FILE_NAME);
    if (existsSync(candidate)) file = candidate;
  }
  if (file) {
    for (const [key, value] of Object.entries(readToml(file))) set(key, value, false, `file ${file}`);
  }
  for (const spec of SCHEMA) {
    const name = envName(spec.key);
    const raw = env[name];
    if (raw !== undefined && raw !== '') set(spec.key, raw, true, `env ${name}`);
  }
  for (const [key, raw] of Object.entries(flags)) {
    if (raw !== undefined) set(key, raw, true, 'flag');
  }
  for (const spec of SCHEMA) {
    if (!values.has(spec.key) && !problems.some((p) => p.startsWith(`${spec.key} `))) {
      values.set(spec.key, defaultOf(spec.key));
      sources[spec.key] = 'default';
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const get = <T>(key: ConfigKey): T => values.get(key) as T;
  const token = get<string>('api.token') || undefined;
  const apiHost = get<string>('api.host');
  if (get<boolean>('api.enabled') && !isLoopback(apiHost) && token === undefined) {
    throw new ConfigError([
      `api.token (${sources['api.host']} sets api.host = ${apiHost}): a bearer token is required when the ` +
        `API listens beyond loopback; set ${envName('api.token')} or api.token in the config file`,
    ]);
  }
  if (get<number>('api.headers_timeout_s') > get<number>('api.request_timeout_s')) {
    throw new ConfigError([
      `api.headers_timeout_s (${sources['api.headers_timeout_s']}) is ${get<number>('api.headers_timeout_s')} s, ` +
        `longer than api.request_timeout_s (${sources['api.request_timeout_s']}), ${get<number>('api.request_timeout_s')} s; ` +
        'the headers are part of the request: lower the first or raise the second',
    ]);
  }
  if (get<string>('storage.backend') === 'redis' && get<string>('storage.redis_url') === '') {
    throw new ConfigError([
      `storage.redis_url (${sources['storage.backend']} sets storage.backend = redis): the redis backend needs ` +
        `a URL such as redis://127.0.0.1:6379; set ${envName('storage.redis_url')} or storage.redis_url`,
    ]);
  }
  const dataDirRaw = get<string>('data_dir');
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  const keyFile = get<string>('overlay.key_file');
  const [staticBits, dynamicBits] = get<string>('overlay.difficulty').split('/').map(Number) as [
    number,
    number,
  ];
  return {
    dataDir,
    node: {
      host: get('node.host'),
      port: get('node.port'),
      bootstrap: get('node.bootstrap'),
      k: get('node.k'),
      readOnly: get('node.read_only'),
      fullNode: get('node.full_node'),
      rateLimitLoopback: get('node.rate_limit_loopback'),
      relay: get('node.relay'),
    },
    api: {
      enabled: get('api.enabled'),
      host: apiHost,
      port: get('api.port'),
      token,
      allowedHosts: get('api.allowed_hosts'),
      maxConnectionsPerIp: get('api.max_connections_per_ip'),
      headersTimeoutMs: get<number>('api.headers_timeout_s') * 1000,
      requestTimeoutMs: get<number>('api.request_timeout_s') * 1000,
      bodyIdleTimeoutMs: get<number>('api.body_timeout_s') * 1000,
    },
    log: { level: get('log.level'), format: get('log.format') },
    storage: {
      backend: get('storage.backend'),
      redisUrl: get('storage.redis_url'),
      namespace: get('storage.namespace'),
    },
    table: { saveIntervalMs: get<number>('table.save_interval_s') * 1000 },
    stats: { tickMs: get('stats.tick_ms') },
    budget: { memoryMb: get('budget.memory_mb'), lagMs: get('budget.lag_ms') },
    privacy: {
      profile: get('privacy.profile'),
      peerTtlS: get('privacy.peer_ttl_s'),
      recentLookups: get('privacy.recent_lookups'),
      rotateEveryMs:
        (sources['privacy.rotate_every_s'] === 'default' && get('privacy.profile') === 'private'
          ? PRIVATE_ROTATE_EVERY_S
          : get<number>('privacy.rotate_every_s')) * 1000,
    },
    overlay: {
      enabled: get('overlay.enabled'),
      host: get('overlay.host'),
      advertiseHost: get('overlay.advertise_host'),
      port: get('overlay.port'),
      bootstrap: get('overlay.bootstrap'),
      fullNode: get('overlay.full_node'),
      offerRelay: get('overlay.offer_relay'),
      relayPort: get('overlay.relay_port'),
      relays: get('overlay.relays'),
      keyFile: keyFile === '' ? join(dataDir, OVERLAY_KEY_FILE) : resolve(cwd, keyFile),
      difficulty: { staticBits, dynamicBits },
      paths: get('overlay.paths'),
    },
    anomaly: {
      warmupTicks: get('anomaly.warmup_ticks'),
      z: get('anomaly.z'),
      ratio: get('anomaly.ratio'),
      minInbound: get('anomaly.min_inbound'),
      minErrors: get('anomaly.min_errors'),
      minDropped: get('anomaly.min_dropped'),
      minFlood: get('anomaly.min_flood'),
      floodShare: get('anomaly.flood_share'),
      replyShare: get('anomaly.reply_share'),
      replyWindowTicks: get('anomaly.reply_window_ticks'),
      minReplies: get('anomaly.min_replies'),
      densityBits: get('anomaly.density_bits'),
    },
    sources,
    file,
  };
}

/** The config as JSON for logs and /api/status, with the token hidden. */
export function redact(config: DaemonConfig): Record<string, unknown> {
  return { ...config, api: { ...config.api, token: config.api.token ? '(set)' : '(none)' } };
}

export function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

function defaultOf(key: ConfigKey): unknown {
  const spec = BY_KEY.get(key) as KeySpec<unknown>;
  return typeof spec.default === 'function' ? (spec.default as () => unknown)() : spec.default;
}

/** Read a TOML file and flatten its tables to dotted keys ("api.port"); lists stay values. */
function readToml(file: string): Record<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { line?: number; column?: number };
    const where = e.line !== undefined ? ` at line ${e.line}, column ${e.column}` : '';
    throw new ConfigError([`config file ${file} is not valid TOML${where}: ${e.message.split('\n')[0]}`]);
  }
  const out: Record<string, unknown> = {};
  const walk = (prefix: string, table: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(table)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (
        v !== null &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        !(v instanceof Date) &&
        !BY_KEY.has(key)
      )
        walk(key, v as Record<string, unknown>);
      else out[key] = v;
    }
  };
  walk('', doc);
  return out;
}
