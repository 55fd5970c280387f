import { idToHex } from '../../kademlia/id.js';
import { COMMON_OPTIONS, parse, parseHex20 } from '../args.js';
import { createOutput, formatAddress } from '../output.js';
import { sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

export const findNode: Command = {
  name: 'find-node',
  summary: 'find the nodes closest to a 40-hex-character id',
  help: `Usage: kadmium find-node ID [options]

Runs an iterative find_node lookup and prints the K closest nodes that answered,
nearest first, with their XOR distance to ID.

Examples:
  kadmium find-node 0123456789abcdef0123456789abcdef01234567
  kadmium find-node $(openssl rand -hex 20) --bootstrap 127.0.0.1:6900 --json

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, COMMON_OPTIONS);
    const out = createOutput(values.json ?? false);
    const target = parseHex20(positionals[0], 'ID');
    const opts = sessionOptions(values, out);
    const { timeoutMs } = opts;
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const nodes = await dht.findNode(target, { signal, timeoutMs });
      const rows = nodes.map((n) => ({
        id: idToHex(n.id),
        address: formatAddress(n.address),
        distance: Buffer.from(n.id.map((b, i) => b ^ (target[i] as number))).toString('hex'),
      }));
      for (const row of rows) out.line(`${row.id}  ${row.address.padEnd(22)}  distance ${row.distance}`);
      out.line(`${rows.length} closest node(s) in ${Date.now() - started} ms`);
      out.result({ target: idToHex(target), nodes: rows, durationMs: Date.now() - started });
      return 0;
    });
  },
};
