/**
 * Every daemon setting: its key (as written in the TOML file), type, default and description.
 * The environment variable is derived from the key (`api.port` -> KADMIUM_API_PORT); the
 * command-line flags that set a key are listed in cli/commands/daemon.ts. docs/DAEMON.md
 * documents the same table.
 */
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BOOTSTRAP, DEFAULT_PORT } from '../node/defaults.js';
import { OVERLAY_PATHS } from '../node/overlay-node.js';
import { parseOverlayBootstrap } from '../node/overlay-tcp.js';
import { DEFAULT_PUZZLE_DIFFICULTY, MAX_PUZZLE_BITS } from '../protocols/overlay/puzzle.js';
import { parseHostPort } from '../transport/address.js';
import { parseHostHeader } from './http/hosts.js';
import {
  DEFAULT_BODY_IDLE_TIMEOUT_S,
  DEFAULT_HEADERS_TIMEOUT_S,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_REQUEST_TIMEOUT_S,
} from './http/limits.js';
import { STORAGE_BACKENDS } from './storage.js';

export type Parsed<T> = { value: T } | { error: string };

export interface KeySpec<T = unknown> {
  key: string;
  /** Default value, or a function of nothing (computed when the config loads). */
  default: T | (() => T);
  doc: string;
  /** Parse a TOML value (`text` false) or an environment/flag string (`text` true). */
  parse(value: unknown, text: boolean): Parsed<T>;
}

export const DEFAULT_API_PORT = 7881;
/** The overlay's TCP port, as `kadmium overlay start` uses. */
export const DEFAULT_OVERLAY_PORT = 7900;
/** privacy.rotate_every_s bounds: a rejoin costs the network datagrams, so not more often than this. */
export const MIN_ROTATE_EVERY_S = 60;
export const MAX_ROTATE_EVERY_S = 7 * 86_400;
/** The private profile's rotation when privacy.rotate_every_s is not set. */
export const PRIVATE_ROTATE_EVERY_S = 3_600;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

function int(min: number, max: number): KeySpec<number>['parse'] {
  return (value, text) => {
    const n = text && typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
      return { error: `must be a whole number ${min}-${max}, got ${show(value)}` };
    return { value: n };
  };
}

function num(min: number, max: number): KeySpec<number>['parse'] {
  return (value, text) => {
    const n = text && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max)
      return { error: `must be a number ${min}-${max}, got ${show(value)}` };
    return { value: n };
  };
}

/** 0 (off) or MIN_ROTATE_EVERY_S-MAX_ROTATE_EVERY_S. */
const rotateEvery: KeySpec<number>['parse'] = (value, text) => {
  const n = int(0, MAX_ROTATE_EVERY_S)(value, text);
  if ('value' in n && (n.value === 0 || n.value >= MIN_ROTATE_EVERY_S)) return n;
  return {
    error:
      `must be 0 (off) or ${MIN_ROTATE_EVERY_S}-${MAX_ROTATE_EVERY_S} seconds (1 minute to 1 week; ` +
      `each rotation rejoins the DHT), got ${show(value)}`,
  };
};

const bool: KeySpec<boolean>['parse'] = (value, text) => {
  if (typeof value === 'boolean') return { value };
  if (text && typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return { value: true };
    if (['false', '0', 'no', 'off'].includes(v)) return { value: false };
  }
  return { error: `must be true or false, got ${show(value)}` };
};

function oneOf<T extends string>(choices: readonly T[]): KeySpec<T>['parse'] {
  return (value) =>
    typeof value === 'string' && (choices as readonly string[]).includes(value)
      ? { value: value as T }
      : { error: `must be one of ${choices.join(', ')}, got ${show(value)}` };
}

const ip: KeySpec<string>['parse'] = (value) =>
  typeof value === 'string' && isIP(value) !== 0
    ? { value }
    : { error: `must be an IP address such as 127.0.0.1, 0.0.0.0 or ::1, got ${show(value)}` };

const nonEmpty: KeySpec<string>['parse'] = (value) =>
  typeof value === 'string' && value.trim() !== ''
    ? { value }
    : { error: `must be a non-empty string, got ${show(value)}` };

/** A list of HOST:PORT; in text, comma-separated; "none" (or an empty list) for no bootstrap. */
const hostPorts: KeySpec<string[]>['parse'] = (value, text) => {
  let list: unknown[];
  if (text && typeof value === 'string') list = value.trim() === 'none' ? [] : value.split(',');
  else if (Array.isArray(value)) list = value;
  else return { error: `must be a list of "HOST:PORT" strings, got ${show(value)}` };
  const out: string[] = [];
  for (const entry of list) {
    if (typeof entry !== 'string')
      return { error: `entries must be "HOST:PORT" strings, got ${show(entry)}` };
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const parsed = parseHostPort(trimmed);
    if ('error' in parsed) return { error: parsed.error };
    out.push(trimmed);
  }
  return { value: out };
};

/** Host names as a Host header carries them ("name", "name:port", "[v6]:port"); in text, comma-separated. */
const hostNames: KeySpec<string[]>['parse'] = (value, text) => {
  let list: unknown[];
  if (text && typeof value === 'string') list = value.split(',');
  else if (Array.isArray(value)) list = value;
  else
    return {
      error: `must be a list of host names such as "kadmium.lan" or "kadmium.lan:8080", got ${show(value)}`,
    };
  const out: string[] = [];
  for (const entry of list) {
    const trimmed = typeof entry === 'string' ? entry.trim() : entry;
    if (trimmed === '') continue;
    if (typeof trimmed !== 'string' || !parseHostHeader(trimmed))
      return {
        error: `entries must be host names as a browser sends them ("kadmium.lan", "kadmium.lan:8080", "[fd00::5]:7881"), got ${show(entry)}`,
      };
    out.push(trimmed.toLowerCase());
  }
  return { value: out };
};

/** A list of PUBKEY@HOST:PORT (the overlay's node notation); in text, comma-separated; "none" for none. */
const overlayBootstrap: KeySpec<string[]>['parse'] = (value, text) => {
  let list: unknown[];
  if (text && typeof value === 'string') list = value.trim() === 'none' ? [] : value.split(',');
  else if (Array.isArray(value)) list = value;
  else return { error: `must be a list of "PUBKEY@HOST:PORT" strings, got ${show(value)}` };
  const out: string[] = [];
  for (const entry of list) {
    if (typeof entry !== 'string')
      return { error: `entries must be "PUBKEY@HOST:PORT" strings, got ${show(entry)}` };
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    try {
      parseOverlayBootstrap(trimmed);
    } catch (err) {
      return { error: (err as Error).message };
    }
    out.push(trimmed);
  }
  return { value: out };
};

/** Puzzle difficulty as "STATIC/DYNAMIC" bits, each 0 to MAX_PUZZLE_BITS. */
const difficulty: KeySpec<string>['parse'] = (value) => {
  const m = typeof value === 'string' ? /^\s*(\d{1,3})\s*\/\s*(\d{1,3})\s*$/.exec(value) : null;
  const bits = m ? [Number(m[1]), Number(m[2])] : [];
  if (!m || bits.some((b) => b > MAX_PUZZLE_BITS))
    return {
      error:
        `must be STATIC/DYNAMIC puzzle bits, each 0-${MAX_PUZZLE_BITS}, like "10/16" (the network's ` +
        `setting; "0/0" for a test network), got ${show(value)}`,
    };
  return { value: `${bits[0]}/${bits[1]}` };
};

/** Tokens are compared in constant time; short ones are guessable. */
const token: KeySpec<string>['parse'] = (value) =>
  typeof value === 'string' && value.length >= 16 && !/\s/.test(value)
    ? { value }
    : { error: 'must be at least 16 characters without spaces (e.g. from "openssl rand -hex 24")' };

export const SCHEMA = [
  {
    key: 'data_dir',
    default: () => join(homedir(), '.kadmium'),
    doc: 'where the daemon keeps its state (routing table, storage)',
    parse: nonEmpty,
  },
  { key: 'node.host', default: '0.0.0.0', doc: 'UDP address the DHT node binds', parse: ip },
  { key: 'node.port', default: DEFAULT_PORT, doc: 'UDP port (0 = any free port)', parse: int(0, 65535) },
  {
    key: 'node.bootstrap',
    default: () => [...DEFAULT_BOOTSTRAP],
    doc: 'routers to join through; [] or "none" for a private network',
    parse: hostPorts,
  },
  { key: 'node.k', default: 8, doc: 'bucket size and lookup width', parse: int(1, 64) },
  { key: 'node.read_only', default: false, doc: 'BEP 43 read-only: answer no queries', parse: bool },
  {
    key: 'node.rate_limit_loopback',
    default: false,
    doc: 'apply the per-IP query limit to loopback senders (127/8, ::1) too',
    parse: bool,
  },
  {
    key: 'node.full_node',
    default: false,
    doc: 'store every valid BEP 44 item, not only those this node is among the K closest to',
    parse: bool,
  },
  {
    key: 'node.relay',
    default: false,
    doc: 'relay for NATed peers that cannot punch to each other (public nodes only; rate- and byte-limited, docs/NAT.md)',
    parse: bool,
  },
  {
    key: 'overlay.enabled',
    default: false,
    doc: 'run the secp256k1 overlay DHT beside the Mainline node',
    parse: bool,
  },
  { key: 'overlay.host', default: '0.0.0.0', doc: 'TCP address the overlay node binds', parse: ip },
  {
    key: 'overlay.advertise_host',
    default: '',
    doc: 'the address others dial this overlay node on (its public IP); empty = overlay.host when that is not 0.0.0.0 / ::',
    parse: (value, text) => (value === '' ? { value: '' } : ip(value, text)),
  },
  {
    key: 'overlay.port',
    default: DEFAULT_OVERLAY_PORT,
    doc: 'overlay TCP port (0 = any free port)',
    parse: int(0, 65535),
  },
  {
    key: 'overlay.bootstrap',
    default: () => [],
    doc: 'overlay nodes to join through, as PUBKEY@HOST:PORT; [] or "none" to wait to be contacted',
    parse: overlayBootstrap,
  },
  {
    key: 'overlay.offer_relay',
    default: false,
    doc: 'offer a TCP splice relay for overlay nodes behind NAT (public nodes only; bounded, docs/NAT.md)',
    parse: bool,
  },
  {
    key: 'overlay.relay_port',
    default: 0,
    doc: 'TCP port of the splice relay overlay.offer_relay opens (0 = any free port)',
    parse: int(0, 65535),
  },
  {
    key: 'overlay.relays',
    default: () => [],
    doc: 'splice relays (HOST:PORT) this overlay node waits at when NATed and dials through when a direct dial fails',
    parse: hostPorts,
  },
  {
    key: 'overlay.full_node',
    default: false,
    doc: 'store every valid overlay item, not only those this node is among the k closest to',
    parse: bool,
  },
  {
    key: 'overlay.key_file',
    default: '',
    doc: 'the overlay key file (mode 0600); empty = DATA_DIR/overlay.key, created if missing',
    parse: (value: unknown) =>
      typeof value === 'string' ? { value } : { error: `must be a file path, got ${show(value)}` },
  },
  {
    key: 'overlay.difficulty',
    default: `${DEFAULT_PUZZLE_DIFFICULTY.staticBits}/${DEFAULT_PUZZLE_DIFFICULTY.dynamicBits}`,
    doc: "the network's S/Kademlia puzzle bits, STATIC/DYNAMIC; every node of a network uses the same",
    parse: difficulty,
  },
  {
    key: 'overlay.paths',
    default: OVERLAY_PATHS,
    doc: 'disjoint lookup paths d (S/Kademlia); 1 is a plain Kademlia lookup',
    parse: int(1, 16),
  },
  { key: 'api.enabled', default: true, doc: 'serve the HTTP API, metrics and dashboard', parse: bool },
  { key: 'api.host', default: '127.0.0.1', doc: 'HTTP address; not loopback needs api.token', parse: ip },
  { key: 'api.port', default: DEFAULT_API_PORT, doc: 'HTTP port (0 = any free port)', parse: int(0, 65535) },
  {
    key: 'api.token',
    default: '',
    doc: 'bearer token for write endpoints (required off loopback)',
    parse: token,
  },
  {
    key: 'api.allowed_hosts',
    default: () => [],
    doc: 'names besides the bound address that requests may carry in Host (and writes in Origin)',
    parse: hostNames,
  },
  {
    key: 'api.max_connections_per_ip',
    default: DEFAULT_MAX_CONNECTIONS_PER_IP,
    doc: 'open HTTP connections per client address (IPv6: per /64); more are closed at once',
    parse: int(1, 100_000),
  },
  {
    key: 'api.headers_timeout_s',
    default: DEFAULT_HEADERS_TIMEOUT_S,
    doc: "seconds for a request's headers to arrive",
    parse: int(1, 600),
  },
  {
    key: 'api.request_timeout_s',
    default: DEFAULT_REQUEST_TIMEOUT_S,
    doc: 'seconds for a whole request to arrive (not to be answered); at least api.headers_timeout_s',
    parse: int(1, 3600),
  },
  {
    key: 'api.body_timeout_s',
    default: DEFAULT_BODY_IDLE_TIMEOUT_S,
    doc: 'longest pause, in seconds, while a request body arrives',
    parse: int(1, 600),
  },
  { key: 'log.level', default: 'info', doc: 'debug, info, warn or error', parse: oneOf(LOG_LEVELS) },
  {
    key: 'log.format',
    default: 'auto',
    doc: 'json (JSON lines), pretty, or auto (pretty on a TTY)',
    parse: oneOf(LOG_FORMATS),
  },
  {
    key: 'storage.backend',
    default: 'sqlite',
    doc: 'sqlite (a file in the data dir), redis (storage.redis_url) or memory',
    parse: (value: unknown) => oneOf(Object.keys(STORAGE_BACKENDS))(value, false),
  },
  {
    key: 'storage.redis_url',
    default: '',
    doc: 'Redis URL for the redis backend, e.g. redis://127.0.0.1:6379',
    parse: (value: unknown) =>
      typeof value === 'string' && (value === '' || /^rediss?:\/\//.test(value))
        ? { value }
        : { error: `must be a URL like redis://127.0.0.1:6379, got ${show(value)}` },
  },
  {
    key: 'storage.namespace',
    default: 'mainline',
    doc: 'Redis key namespace: one per network; nodes sharing it share one dataset',
    parse: nonEmpty,
  },
  {
    key: 'table.save_interval_s',
    default: 300,
    doc: 'seconds between routing-table saves',
    parse: int(5, 86_400),
  },
  {
    key: 'privacy.profile',
    default: 'standard',
    doc: 'standard, or private: read-only (stores nothing for others, serves no samples), keeps no lookup history, new id and port hourly',
    parse: oneOf(['standard', 'private']),
  },
  {
    key: 'privacy.rotate_every_s',
    // Unset: off in the standard profile, PRIVATE_ROTATE_EVERY_S in the private one (config.ts).
    default: 0,
    doc: 'seconds between fresh node ids and UDP ports (0 = off; default 3600 in the private profile)',
    parse: rotateEvery,
  },
  {
    key: 'privacy.peer_ttl_s',
    default: 1800,
    doc: 'how long peer addresses announced by others are kept (BEP 5 suggests 30 minutes)',
    parse: int(60, 7200),
  },
  {
    key: 'privacy.recent_lookups',
    default: 50,
    doc: 'our own recent lookups (their targets) kept for the dashboard; 0 keeps none',
    parse: int(0, 1000),
  },
  { key: 'stats.tick_ms', default: 1000, doc: 'length of a statistics tick', parse: int(100, 60_000) },
  {
    key: 'budget.memory_mb',
    default: 0,
    doc: 'heap budget, MiB; above it lookups run less parallel and RTT history shrinks (0: none)',
    parse: int(0, 1_000_000),
  },
  {
    key: 'budget.lag_ms',
    default: 0,
    doc: 'event-loop delay budget (p99 per tick), ms; acts like the heap budget (0: none)',
    parse: int(0, 60_000),
  },
  { key: 'anomaly.warmup_ticks', default: 30, doc: 'ticks before any rule may fire', parse: int(0, 100_000) },
  { key: 'anomaly.z', default: 4, doc: 'standard deviations above the baseline', parse: num(0, 100) },
  { key: 'anomaly.ratio', default: 3, doc: 'times the baseline mean', parse: num(1, 1000) },
  { key: 'anomaly.min_inbound', default: 50, doc: 'floor for inbound-spike, per tick', parse: int(1, 1e9) },
  { key: 'anomaly.min_errors', default: 10, doc: 'floor for error-spike, per tick', parse: int(1, 1e9) },
  { key: 'anomaly.min_dropped', default: 10, doc: 'floor for dropped-spike, per tick', parse: int(1, 1e9) },
  { key: 'anomaly.min_flood', default: 30, doc: 'floor for subnet-flood, per tick', parse: int(1, 1e9) },
  {
    key: 'anomaly.flood_share',
    default: 0.5,
    doc: 'share of inbound one subnet must send',
    parse: num(0, 1),
  },
  {
    key: 'anomaly.reply_share',
    default: 0.15,
    doc: 'subnet-replies: share of the replies to our own queries one /24 (IPv6 /48) must send over the window',
    parse: num(0.01, 1),
  },
  {
    key: 'anomaly.reply_window_ticks',
    default: 30,
    doc: 'subnet-replies: ticks the window spans (30 one-second ticks: 30 s)',
    parse: int(1, 3600),
  },
  {
    key: 'anomaly.min_replies',
    default: 100,
    doc: 'subnet-replies: replies the window must hold before the rule may fire',
    parse: int(1, 1e9),
  },
  {
    key: 'anomaly.density_bits',
    default: 3,
    doc: "target-density: bits (log2 XOR distance) a lookup's k-th closest node must sit closer to its target than this node's usual level",
    parse: num(0.5, 64),
  },
] as const satisfies readonly KeySpec<unknown>[];

export type ConfigKey = (typeof SCHEMA)[number]['key'];

export function envName(key: string): string {
  return `KADMIUM_${key.toUpperCase().replace(/\./g, '_')}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a date';
  if (value !== null && typeof value === 'object') return 'a table';
  return String(value);
}
