import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, parse, parseHex20 } from '../args.js';
import { createOutput, formatAddress } from '../output.js';
import { sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = { ...COMMON_OPTIONS, noseed: { type: 'boolean' } } as const;

export const getPeers: Command = {
  name: 'get-peers',
  summary: 'find peers for an infohash (printed as they arrive)',
  help: `Usage: kadmium get-peers INFOHASH [options]

Runs a get_peers lookup and prints each peer (HOST:PORT) as soon as a node returns it.
Exits 0 when the lookup completes, whether or not peers were found.

      --noseed               ask for leechers only (BEP 33)

Examples:
  kadmium get-peers 08ada5a7a6183aae1e09d831df6748d566095a10
  kadmium get-peers 08ada5a7a6183aae1e09d831df6748d566095a10 --bootstrap 127.0.0.1:6900 --json
  kadmium get-peers 08ada5a7a6183aae1e09d831df6748d566095a10 --noseed --no-ipv6

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const infoHash = parseHex20(positionals[0], 'INFOHASH');
    const opts = sessionOptions(values, out);
    const { timeoutMs } = opts;
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const peers: string[] = [];
      for await (const peer of dht.getPeers(infoHash, {
        signal,
        timeoutMs,
        noseed: values.noseed ?? false,
      })) {
        const text = formatAddress(peer);
        peers.push(text);
        out.line(text);
      }
      out.info(`${peers.length} peer(s) for ${toHex(infoHash)} in ${Date.now() - started} ms`);
      out.result({ infoHash: toHex(infoHash), peers, durationMs: Date.now() - started });
      return 0;
    });
  },
};
