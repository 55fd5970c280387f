import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, parse, parseHex20 } from '../args.js';
import { createOutput } from '../output.js';
import { sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

export const scrape: Command = {
  name: 'scrape',
  summary: 'estimate seeds and leechers of an infohash (BEP 33)',
  help: `Usage: kadmium scrape INFOHASH [options]

Runs a get_peers lookup with scrape=1 and merges the seed (BFsd) and peer (BFpe) bloom filters
the closest nodes return, then prints BEP 33's estimate of distinct seed and leecher IPs.
Nodes that do not support BEP 33 only send peers; those count as leechers. Estimates are of IPs:
several peers behind one address count once.

Examples:
  kadmium scrape 08ada5a7a6183aae1e09d831df6748d566095a10
  kadmium scrape 08ada5a7a6183aae1e09d831df6748d566095a10 --bootstrap 127.0.0.1:6900 --json

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, COMMON_OPTIONS);
    const out = createOutput(values.json ?? false);
    const infoHash = parseHex20(positionals[0], 'INFOHASH');
    const opts = sessionOptions(values, out);
    const { timeoutMs } = opts;
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const r = await dht.scrape(infoHash, { signal, timeoutMs });
      const durationMs = Date.now() - started;
      out.line(`seeds ${r.seeds}  leechers ${r.leechers}`);
      out.info(
        `${r.withFilters} of ${r.responded} responding node(s) sent bloom filters for ${toHex(infoHash)} in ${durationMs} ms`,
      );
      out.result({
        infoHash: toHex(infoHash),
        seeds: r.seeds,
        leechers: r.leechers,
        responded: r.responded,
        withFilters: r.withFilters,
        durationMs,
      });
      return 0;
    });
  },
};
