import { createTestnet } from '../../node/testnet.js';
import { COMMON_OPTIONS, parse, parsePort, parsePositiveInt } from '../args.js';
import { createOutput } from '../output.js';
import { createSampler, formatStatus } from '../status.js';
import type { Command } from './types.js';

const OPTIONS = {
  nodes: { type: 'string', short: 'n' },
  port: COMMON_OPTIONS.port,
  host: COMMON_OPTIONS.host,
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
  'status-interval': { type: 'string' },
} as const;

export const testnet: Command = {
  name: 'testnet',
  summary: 'run a local network of N nodes on loopback, to try everything offline',
  help: `Usage: kadmium testnet [--nodes N] [--port P]

Starts N real DHT nodes on loopback UDP and keeps them running until Ctrl-C. The first
node listens on port P and is the bootstrap node for the others and for you.

  -n, --nodes N              how many nodes (default 50)
  -p, --port P               UDP port of the bootstrap node (default 6900)
      --host ADDR            loopback address to use (default 127.0.0.1)
      --status-interval S    seconds between status lines (default 10)
      --json                 JSON lines instead of text
  -h, --help                 this help

Example, in two terminals:
  kadmium testnet --nodes 50
  kadmium announce 08ada5a7a6183aae1e09d831df6748d566095a10 --port 51413 --bootstrap 127.0.0.1:6900
  kadmium get-peers 08ada5a7a6183aae1e09d831df6748d566095a10 --bootstrap 127.0.0.1:6900`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const size = parsePositiveInt(values.nodes, 50, '--nodes', 5_000);
    const port = parsePort(values.port, 6900);
    const host = values.host ?? '127.0.0.1';
    const intervalMs = parsePositiveInt(values['status-interval'], 10, '--status-interval', 86_400) * 1000;
    const started = Date.now();
    const net = await createTestnet(size, {
      host,
      port,
      onProgress: (n, total) => {
        if (!out.json && (n === total || n % 50 === 1)) out.info(`started ${n}/${total} nodes`);
      },
    });
    const bootstrap = net.bootstrap[0] as string;
    if (out.json) {
      process.stdout.write(
        `${JSON.stringify({ event: 'ready', nodes: size, bootstrap, ms: Date.now() - started })}\n`,
      );
    } else {
      out.line(`testnet of ${size} nodes ready in ${Date.now() - started} ms; bootstrap node ${bootstrap}`);
      out.line('try, in another terminal:');
      out.line(
        `  kadmium announce 08ada5a7a6183aae1e09d831df6748d566095a10 --port 51413 --bootstrap ${bootstrap}`,
      );
      out.line(`  kadmium get-peers 08ada5a7a6183aae1e09d831df6748d566095a10 --bootstrap ${bootstrap}`);
      out.line('Ctrl-C stops the testnet.');
    }
    const sample = createSampler(net.nodes);
    const timer = setInterval(() => {
      sample().then(
        (s) =>
          out.json
            ? process.stdout.write(`${JSON.stringify({ event: 'status', ...s })}\n`)
            : out.info(formatStatus(s)),
        () => undefined,
      );
    }, intervalMs);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    clearInterval(timer);
    out.info('stopping testnet');
    await net.destroy();
    return 0;
  },
};
