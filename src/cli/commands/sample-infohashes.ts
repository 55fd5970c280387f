import { randomBytes } from 'node:crypto';
import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, parse, parseHex20 } from '../args.js';
import { createOutput, formatAddress } from '../output.js';
import { sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = { ...COMMON_OPTIONS, target: { type: 'string' } } as const;

export const sampleInfohashes: Command = {
  name: 'sample-infohashes',
  summary: 'collect samples of the infohashes nodes store (BEP 51)',
  help: `Usage: kadmium sample-infohashes [options]

Walks the DHT towards a target id with sample_infohashes queries (BEP 51) and prints each
distinct infohash the nodes sampled from their storage, one per line. On stderr: how many nodes
answered, how many infohashes each says it holds (num) and when it will resample (interval).
Nodes that do not support BEP 51 time out or answer 204 and are counted as failed.

      --target HEX           40 hex characters: where in the keyspace to walk (default: random)

Examples:
  kadmium sample-infohashes
  kadmium sample-infohashes --bootstrap 127.0.0.1:6900 --target 0000000000000000000000000000000000000000 --json

${COMMON_HELP}`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const target =
      values.target === undefined ? new Uint8Array(randomBytes(20)) : parseHex20(values.target, '--target');
    const opts = sessionOptions(values, out);
    const { timeoutMs } = opts;
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const r = await dht.sampleInfohashes({ target, signal, timeoutMs });
      const durationMs = Date.now() - started;
      for (const h of r.infohashes) out.line(toHex(h));
      for (const n of r.nodes) {
        out.info(
          `${formatAddress(n.address)}: ${n.samples} sample(s) of ${n.num ?? '?'}, resample in ${n.interval ?? '?'} s`,
        );
      }
      out.info(
        `${r.infohashes.length} distinct infohash(es) from ${r.nodes.length} node(s), ${r.failed} without BEP 51, in ${durationMs} ms`,
      );
      out.result({
        target: toHex(target),
        infohashes: r.infohashes.map(toHex),
        nodes: r.nodes.map((n) => ({
          address: formatAddress(n.address),
          id: toHex(n.id),
          num: n.num,
          interval: n.interval,
          samples: n.samples,
        })),
        failed: r.failed,
        durationMs,
      });
      return 0;
    });
  },
};
