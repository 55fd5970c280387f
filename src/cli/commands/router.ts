import { Router } from '../../node/router.js';
import { DEFAULT_SHARD_BITS, MAX_SHARD_BITS } from '../../node/router-table.js';
import { COMMON_OPTIONS, parse, parseBootstrap, parsePort, parsePositiveInt } from '../args.js';
import { createOutput } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  bootstrap: COMMON_OPTIONS.bootstrap,
  port: COMMON_OPTIONS.port,
  host: COMMON_OPTIONS.host,
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
  'shard-bits': { type: 'string' },
  k: { type: 'string' },
  'verify-per-second': { type: 'string' },
  'status-interval': { type: 'string' },
} as const;

export const router: Command = {
  name: 'router',
  summary: 'run a bootstrap router: hands out verified nodes, stores nothing',
  help: `Usage: kadmium router [--port P] [--bootstrap OTHER_ROUTER ...]

A bootstrap service like router.bittorrent.com: answers ping, find_node and get_peers with
nodes only (no token, no peers), refuses announce_peer, get and put, and keeps a large
table of nodes it verified itself (they answered its ping). It writes nothing anywhere:
run several behind one address or DNS name and list each other with --bootstrap, so a
restarted router refills from the others. See docs/ROUTER.md.

  -p, --port P               UDP port (default 6881)
      --host ADDR            address to bind (default 0.0.0.0; IPv4 only)
  -b, --bootstrap HOST:PORT  other routers or nodes to seed from; repeat or comma-separate
      --shard-bits N         2^N routing tables, one per region of the keyspace (default ${DEFAULT_SHARD_BITS})
      --k N                  bucket size in each table (default 8)
      --verify-per-second N  verifying pings per second (default 200)
      --status-interval S    seconds between status lines (default 60)
      --json                 JSON lines instead of text
  -h, --help                 this help`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const r = new Router({
      port: parsePort(values.port, 6881),
      host: values.host ?? '0.0.0.0',
      bootstrap: parseBootstrap(values.bootstrap) ?? [],
      shardBits: parsePositiveInt(values['shard-bits'], DEFAULT_SHARD_BITS, '--shard-bits', MAX_SHARD_BITS),
      k: parsePositiveInt(values.k, 8, '--k', 1024),
      verifyPerSecond: parsePositiveInt(values['verify-per-second'], 200, '--verify-per-second', 100_000),
    });
    const address = await r.listen();
    const seeded = await r.seed();
    const status = (event: string) => {
      const s = r.stats();
      if (out.json) process.stdout.write(`${JSON.stringify({ event, address, ...s })}\n`);
      else
        out.info(
          `router ${address.host}:${address.port}: ${s.verified} verified of ${s.contacts} contacts; ` +
            `served ping ${s.queries.ping}, find_node ${s.queries.find_node}, get_peers ${s.queries.get_peers}, ` +
            `refused ${s.queries.refused}; ${s.verifyQueue} waiting for a ping`,
        );
    };
    for (const p of seeded.problems) out.info(`bootstrap: ${p}`);
    if (seeded.tried > 0) out.info(`seeded from ${seeded.responded} of ${seeded.tried} peers`);
    status('ready');
    const timer = setInterval(
      () => status('status'),
      parsePositiveInt(values['status-interval'], 60, '--status-interval', 86_400) * 1000,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    clearInterval(timer);
    await r.close();
    return 0;
  },
};
