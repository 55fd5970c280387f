import type { ExportedTable } from '../../kademlia/routing-table.js';
import { DEFAULT_BOOTSTRAP, DEFAULT_PORT } from '../../node/defaults.js';
import { Dht } from '../../node/dht.js';
import {
  COMMON_OPTIONS,
  parse,
  parseBootstrap,
  parseNodeFlags,
  parsePort,
  parsePositiveInt,
} from '../args.js';
import { createOutput, formatAddress } from '../output.js';
import { createSampler, formatStatus } from '../status.js';
import { STORAGE_HELP, STORAGE_OPTIONS, describeStorage, openStorageFromFlags } from '../storage-options.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...STORAGE_OPTIONS,
  'full-node': { type: 'boolean' },
  relay: { type: 'boolean' },
  'rate-limit-loopback': { type: 'boolean' },
  'status-interval': { type: 'string' },
} as const;

const SAVE_EVERY_MS = 5 * 60_000;
const TABLE_KEY = 'routing-table';

export const start: Command = {
  name: 'start',
  summary: 'run a DHT node in the foreground with a periodic status line',
  help: `Usage: kadmium start [options]

Runs a Mainline DHT node until Ctrl-C (SIGINT) or SIGTERM: it joins the network, answers
queries (ping, find_node, get_peers, announce_peer) and prints a status line.
Without internet it says that the routers are unreachable and keeps retrying with backoff.

The routing table is saved every 5 minutes and on exit, so a restarted node rejoins at once
through the nodes it knew; stored peers and items survive restarts too.

      --full-node            store every valid item, not only those this node is close to
      --relay                relay for NATed peers that cannot punch (public nodes only)
      --rate-limit-loopback  apply the per-IP query limit to 127/8 and ::1 too (default:
                             loopback is exempt); for testing the limit on one machine
      --status-interval S    seconds between status lines (default 10)

${STORAGE_HELP}

Examples:
  kadmium start
  kadmium start --port 6881 --data-dir /var/lib/kadmium --full-node
  kadmium start --port 0 --bootstrap 127.0.0.1:6900 --memory --json

${COMMON_HELP.replace('(0 = any free port)', `(default ${DEFAULT_PORT}; 0 = any free port)`)}`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const intervalMs = parsePositiveInt(values['status-interval'], 10, '--status-interval', 86_400) * 1000;
    const bootstrap = parseBootstrap(values.bootstrap) ?? DEFAULT_BOOTSTRAP;
    const port = parsePort(values.port, DEFAULT_PORT);
    const storage = await openStorageFromFlags(values);
    let routingTable: ExportedTable | undefined;
    const saved = await storage.state.loadState(TABLE_KEY);
    if (saved) {
      try {
        routingTable = JSON.parse(new TextDecoder().decode(saved)) as ExportedTable;
      } catch {
        out.info('warning: the saved routing table is unreadable; starting from the bootstrap nodes');
      }
    }
    const dht = new Dht({
      port,
      host: values.host ?? '0.0.0.0',
      bootstrap: bootstrap.length > 0 ? bootstrap : false,
      routingTable,
      peerStore: storage.peers,
      itemStore: storage.items,
      fullNode: values['full-node'] ?? false,
      relay: values.relay ?? false,
      rateLimitLoopback: values['rate-limit-loopback'] ?? false,
      ...parseNodeFlags(values),
    });
    const emit = (event: string, data: object, text: string): void => {
      if (out.json) process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
      else out.info(text);
    };
    dht.events.on('bootstrap', (b) =>
      emit('bootstrap', b, b.ok ? b.message : `bootstrap failed: ${b.message}`),
    );
    dht.events.on('warning', (w) => emit('warning', w, `warning: ${w.message}`));
    let address: Awaited<ReturnType<Dht['listen']>>;
    try {
      address = await dht.listen();
    } catch (err) {
      await storage.close();
      throw err;
    }
    emit(
      'listening',
      { address: formatAddress(address), id: Buffer.from(dht.id).toString('hex') },
      `kadmium node ${Buffer.from(dht.id).toString('hex')} listening on udp ${formatAddress(address)}; ` +
        `storage ${describeStorage(values)}` +
        (routingTable ? `; restored ${routingTable.nodes.length} nodes` : '') +
        (values['full-node'] ? '; full node' : ''),
    );
    const save = (): Promise<void> =>
      storage.state
        .saveState(TABLE_KEY, new TextEncoder().encode(JSON.stringify(dht.exportRoutingTable())))
        .catch((err: unknown) =>
          out.info(`warning: saving the routing table failed: ${(err as Error).message}`),
        );
    const sample = createSampler([dht]);
    const statusTimer = setInterval(() => {
      sample().then(
        (s) => emit('status', s, formatStatus(s)),
        () => undefined,
      );
    }, intervalMs);
    const saveTimer = setInterval(() => void save(), SAVE_EVERY_MS);
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    void dht.start();
    const why = await stopped;
    clearInterval(statusTimer);
    clearInterval(saveTimer);
    emit('stopping', { signal: why }, `${why}: saving state and closing`);
    await save();
    await dht.close();
    await storage.close();
    return 0;
  },
};
