import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DiscoveryServer } from '../../discovery/server.js';
import { formatOverlayBootstrap } from '../../node/overlay-tcp.js';
import { OverlayIdentity } from '../../protocols/overlay/identity.js';
import { loadKeyFile, saveKeyFile } from '../../protocols/overlay/key-file.js';
import { NO_PUZZLE, type PuzzleDifficulty } from '../../protocols/overlay/puzzle.js';
import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, parse, parseOverlayPeers, parsePort, UsageError } from '../args.js';
import { createOutput } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  port: COMMON_OPTIONS.port,
  host: COMMON_OPTIONS.host,
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
  bootstrap: COMMON_OPTIONS.bootstrap,
  db: { type: 'string' },
  redis: { type: 'string' },
  key: { type: 'string', short: 'k' },
  'overlay-port': { type: 'string' },
  'full-node': { type: 'string', multiple: true },
  'no-mirror': { type: 'boolean' },
  difficulty: { type: 'string' },
} as const;

export const discovery: Command = {
  name: 'discovery',
  summary: 'an HTTP discovery server (dmsg, transports, services) that mirrors into the overlay',
  help: `Usage: kadmium discovery [options]

Runs Skywire's three HTTP discoveries in one server: dmsg-discovery (/dmsg-discovery/...),
transport discovery (/transports/..., signed with SW-Public / SW-Nonce / SW-Sig) and service
discovery (/api/services). Every write it accepts is also stored in the overlay DHT: the server
runs an overlay full node under its own key, keeps a signed copy (a "mirror") of each record under
the subject's key, and pushes batches of them to the full nodes you name and to the nodes closest
to each record. Readers then find records through the DHT even while this server is down
(docs/DISCOVERY.md).

Overlay nodes keep mirrors only from keys they trust: start them with this server's public key
in their trusted set (it is printed at start).

Options:
  -p, --port N                 HTTP port (default 9090; 0 = any)
      --host ADDR              HTTP listen address (default 127.0.0.1)
      --db FILE                SQLite file for the records (default ./discovery.sqlite)
      --redis URL              keep them in Redis instead (several servers may share it),
                               e.g. redis://127.0.0.1:6379
  -k, --key FILE               the server's overlay key (made, mode 0600, when missing;
                               default ./discovery.key)
      --overlay-port N         the overlay node's TCP port (default 0 = any)
  -b, --bootstrap PK@HOST:PORT overlay nodes to join through (repeatable)
      --full-node PK@HOST:PORT full nodes that receive every mirror (repeatable)
      --no-mirror              HTTP only: no overlay node, nothing mirrored
      --difficulty S/D         the overlay's puzzle bits (default 0/0, as testnets use)
      --json                   print the start-up details as one JSON document
  -h, --help                   this help

Examples:
  kadmium overlay testnet --nodes 20 --port 7900
  kadmium discovery --port 9090 --bootstrap PK@127.0.0.1:7900
  curl -s localhost:9090/health
  kadmium disc servers --http http://127.0.0.1:9090 --json`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    if (values.redis && values.db) throw new UsageError('give --db or --redis, not both');
    const difficulty = parseDifficulty(values.difficulty);
    const peers = parseOverlayPeers;
    const mirror = !(values['no-mirror'] ?? false);
    let identity: OverlayIdentity | undefined;
    if (mirror) {
      const keyPath = values.key ?? 'discovery.key';
      if (existsSync(keyPath)) identity = loadKeyFile(keyPath, difficulty);
      else {
        mkdirSync(dirname(keyPath), { recursive: true });
        identity = OverlayIdentity.generate(difficulty);
        saveKeyFile(keyPath, identity);
        out.info(`wrote a new server key to ${keyPath}`);
      }
    }
    const server = await DiscoveryServer.start({
      host: values.host ?? '127.0.0.1',
      port: parsePort(values.port, 9090),
      ...(values.redis ? { redisUrl: values.redis } : { sqlitePath: values.db ?? 'discovery.sqlite' }),
      ...(identity ? { identity } : {}),
      mirror,
      overlayPort: parsePort(values['overlay-port'], 0, '--overlay-port'),
      bootstrap: peers(values.bootstrap, '--bootstrap'),
      fullNodes: peers(values['full-node'], '--full-node'),
      difficulty,
    });
    server.mirror?.events.on('mirror:push-failed', (e) =>
      out.info(`mirror push to ${e.peer} failed: ${e.message}`),
    );
    const details = {
      url: server.url,
      store: server.kv.kind,
      serverKey: identity ? toHex(identity.publicKey) : null,
      overlay: server.node ? formatOverlayBootstrap(server.node) : null,
    };
    out.result(details);
    out.line(
      `discovery server on ${server.url} (store: ${server.kv.kind})\n` +
        (server.node
          ? `overlay node ${details.overlay}\nmirrors signed by ${details.serverKey}: overlay nodes must trust this key\n`
          : 'mirroring off\n') +
        'Ctrl-C to stop.',
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await server.close();
    return 0;
  },
};

export function parseDifficulty(text: string | undefined): PuzzleDifficulty {
  if (text === undefined) return NO_PUZZLE;
  const m = /^(\d{1,2})\/(\d{1,2})$/.exec(text);
  if (!m) throw new UsageError(`--difficulty must be STATIC/DYNAMIC bits, like 10/16, got "${text}"`);
  return { staticBits: Number(m[1]), dynamicBits: Number(m[2]) };
}
