import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ExportedTable } from '../../kademlia/routing-table.js';
import { DEFAULT_BOOTSTRAP, DEFAULT_PORT } from '../../node/defaults.js';
import { Dht } from '../../node/dht.js';
import {
  COMMON_OPTIONS,
  parse,
  parseBootstrap,
  parsePort,
  parsePositiveInt,
  UsageError,
  parseNodeFlags,
} from '../args.js';
import { createOutput, formatAddress } from '../output.js';
import { createSampler, formatStatus } from '../status.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  'table-file': { type: 'string' },
  'status-interval': { type: 'string' },
} as const;

const SAVE_EVERY_MS = 5 * 60_000;

export const start: Command = {
  name: 'start',
  summary: 'run a DHT node in the foreground with a periodic status line',
  help: `Usage: kadmium start [options]

Runs a Mainline DHT node until Ctrl-C (SIGINT) or SIGTERM: it joins the network, answers
queries (ping, find_node, get_peers, announce_peer) and prints a status line.
Without internet it says that the routers are unreachable and keeps retrying with backoff.

      --table-file PATH      load the routing table from PATH at start and save it there
                             every 5 minutes and on exit, for a fast rejoin after restart
      --status-interval S    seconds between status lines (default 10)

Examples:
  kadmium start
  kadmium start --port 6881 --table-file ~/.kadmium-table.json
  kadmium start --port 0 --bootstrap 127.0.0.1:6900 --json

${COMMON_HELP.replace('(0 = any free port)', `(default ${DEFAULT_PORT}; 0 = any free port)`)}`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const tableFile = values['table-file'];
    const intervalMs = parsePositiveInt(values['status-interval'], 10, '--status-interval', 86_400) * 1000;
    let routingTable: ExportedTable | undefined;
    if (tableFile && existsSync(tableFile)) {
      try {
        routingTable = JSON.parse(readFileSync(tableFile, 'utf8')) as ExportedTable;
        if (typeof routingTable.id !== 'string' || !Array.isArray(routingTable.nodes))
          throw new Error('not a table');
      } catch (err) {
        throw new UsageError(
          `--table-file ${tableFile} is not a saved routing table: ${(err as Error).message}`,
        );
      }
    }
    const bootstrap = parseBootstrap(values.bootstrap) ?? DEFAULT_BOOTSTRAP;
    const dht = new Dht({
      port: parsePort(values.port, DEFAULT_PORT),
      host: values.host ?? '0.0.0.0',
      bootstrap,
      routingTable,
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
    const address = await dht.listen();
    emit(
      'listening',
      { address: formatAddress(address), id: Buffer.from(dht.id).toString('hex') },
      `kadmium node ${Buffer.from(dht.id).toString('hex')} listening on udp ${formatAddress(address)}` +
        (routingTable ? ` (restored ${routingTable.nodes.length} nodes from ${tableFile})` : ''),
    );
    const save = (): void => {
      if (!tableFile) return;
      const tmp = `${tableFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(dht.exportRoutingTable()));
      renameSync(tmp, tableFile);
    };
    const sample = createSampler([dht]);
    const statusTimer = setInterval(() => {
      sample().then(
        (s) => emit('status', s, formatStatus(s)),
        () => undefined,
      );
    }, intervalMs);
    const saveTimer = setInterval(save, SAVE_EVERY_MS);
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    void dht.start();
    const why = await stopped;
    clearInterval(statusTimer);
    clearInterval(saveTimer);
    emit('stopping', { signal: why }, `${why}: saving state and closing`);
    save();
    await dht.close();
    return 0;
  },
};
