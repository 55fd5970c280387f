import type { ConfigKey } from '../../daemon/config-schema.js';
import { ConfigError, loadConfig } from '../../daemon/config.js';
import { Daemon } from '../../daemon/daemon.js';
import { parse, UsageError } from '../args.js';
import type { Command } from './types.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  bootstrap: { type: 'string', short: 'b', multiple: true },
  'api-host': { type: 'string' },
  'api-port': { type: 'string' },
  'no-api': { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  storage: { type: 'string' },
  redis: { type: 'string' },
  'full-node': { type: 'boolean' },
  relay: { type: 'boolean' },
  'rate-limit-loopback': { type: 'boolean' },
  overlay: { type: 'boolean' },
  'overlay-port': { type: 'string' },
  'overlay-offer-relay': { type: 'boolean' },
  'overlay-bootstrap': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flag -> config key; values go through the same validation as the file and environment. */
const FLAG_KEYS: Record<string, ConfigKey> = {
  'data-dir': 'data_dir',
  port: 'node.port',
  host: 'node.host',
  'api-host': 'api.host',
  'api-port': 'api.port',
  'log-level': 'log.level',
  'log-format': 'log.format',
  storage: 'storage.backend',
  redis: 'storage.redis_url',
  'overlay-port': 'overlay.port',
};

export const daemon: Command = {
  name: 'daemon',
  summary: 'run a long-lived node with an HTTP API, Prometheus metrics and a live dashboard',
  help: `Usage: kadmium daemon [options]

Runs one DHT node until SIGINT or SIGTERM, configured by a TOML file, then KADMIUM_*
environment variables, then these flags (flags win). Serves on http://127.0.0.1:7881/:
the live dashboard (/), a JSON API (/api/..., described at /openapi.json), Prometheus
metrics (/metrics) and a health check (/health). Logs are JSON lines (pretty on a terminal).
On shutdown it stops the API, saves the routing table to the data dir and closes the node.

  -c, --config PATH          TOML config file (default: DATA_DIR/kadmium.toml if present;
                             or KADMIUM_CONFIG)
      --data-dir DIR         state directory (default ~/.kadmium; KADMIUM_DATA_DIR)
  -p, --port N               UDP port (default 6881; 0 = any free port)
      --host ADDR            UDP address to bind (default 0.0.0.0)
  -b, --bootstrap HOST:PORT  routers to join through, repeat or comma-separate; "none" for
                             none (default: the public Mainline routers)
      --api-host ADDR        HTTP address (default 127.0.0.1; beyond loopback needs
                             KADMIUM_API_TOKEN for write endpoints)
      --api-port N           HTTP port (default 7881; 0 = any free port)
      --no-api               no HTTP API, metrics or dashboard
      --log-level LEVEL      debug, info, warn or error (default info)
      --log-format FORMAT    json, pretty or auto (default auto: pretty on a terminal)
      --storage BACKEND      sqlite (DATA_DIR/kadmium.sqlite, the default), redis or memory
      --redis URL            Redis server for --storage redis (implies it), e.g.
                             redis://127.0.0.1:6379; nodes sharing a namespace share data
      --full-node            store every valid BEP 44 item, not only those near our id
      --relay                relay for NATed peers that cannot punch (public nodes only)
      --rate-limit-loopback  apply the per-IP query limit to loopback senders too
      --overlay              also run the secp256k1 overlay DHT (TCP; [overlay] in the config)
      --overlay-port N       overlay TCP port (default 7900; 0 = any free port)
      --overlay-bootstrap PK@HOST:PORT
                             overlay nodes to join through (repeat or comma-separate)
      --overlay-offer-relay  offer a TCP splice relay to NATed overlay nodes (public nodes)
  -h, --help                 this help

Every setting, its variable and default: docs/DAEMON.md.

Examples:
  kadmium daemon
  kadmium daemon --data-dir ./.kadmium --api-port 8080
  KADMIUM_API_TOKEN=$(openssl rand -hex 24) kadmium daemon --api-host 0.0.0.0
  kadmium daemon --port 0 --bootstrap 127.0.0.1:6900 --log-format json`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const flags: Partial<Record<ConfigKey, string>> = {};
    for (const [flag, key] of Object.entries(FLAG_KEYS)) {
      const v = values[flag as keyof typeof values];
      if (typeof v === 'string') flags[key] = v;
    }
    if (values.bootstrap) flags['node.bootstrap'] = values.bootstrap.join(',');
    if (values['no-api']) flags['api.enabled'] = 'false';
    if (values['full-node']) flags['node.full_node'] = 'true';
    if (values.relay) flags['node.relay'] = 'true';
    if (values['rate-limit-loopback']) flags['node.rate_limit_loopback'] = 'true';
    if (values.overlay) flags['overlay.enabled'] = 'true';
    if (values['overlay-offer-relay']) flags['overlay.offer_relay'] = 'true';
    if (values['overlay-bootstrap']) flags['overlay.bootstrap'] = values['overlay-bootstrap'].join(',');
    if (values.redis !== undefined && values.storage === undefined) flags['storage.backend'] = 'redis';
    let config;
    try {
      config = loadConfig({ flags, env: process.env, configFile: values.config });
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    const running = await Daemon.start({ config });
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    const force = (): void => {
      running.log.error('second signal: exiting without a clean shutdown');
      process.exit(1);
    };
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    await running.stop(signal);
    process.off('SIGINT', force);
    process.off('SIGTERM', force);
    return 0;
  },
};
