import { resolveAll, systemResolver } from '../../node/resolve.js';
import { makeAddress } from '../../transport/address.js';
import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, parse, parsePort, parseTimeoutMs, UsageError, parseNodeFlags } from '../args.js';
import { createOutput, formatAddress } from '../output.js';
import { CommandError, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

export const ping: Command = {
  name: 'ping',
  summary: 'ping one DHT node and show its id and round-trip time',
  help: `Usage: kadmium ping HOST:PORT [options]

Sends a BEP 5 ping to one node and prints its node id and the round-trip time.

Examples:
  kadmium ping router.bittorrent.com:6881
  kadmium ping 127.0.0.1:6900 --json

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, COMMON_OPTIONS);
    const out = createOutput(values.json ?? false);
    const target = positionals[0];
    if (!target) throw new UsageError('missing HOST:PORT to ping (for example 127.0.0.1:6900)');
    const { addresses, problems } = await resolveAll([target], systemResolver);
    if (problems.length > 0) throw new UsageError(problems.join('; '));
    const address = addresses[0];
    if (!address) throw new CommandError(`${target} resolved to no address`);
    const timeoutMs = parseTimeoutMs(values.timeout, 5_000);
    const opts = {
      bootstrap: [],
      port: parsePort(values.port, 0),
      host: values.host,
      timeoutMs,
      out,
      ...parseNodeFlags(values),
    };
    return withNode(
      opts,
      async (dht, signal) => {
        try {
          const reply = await dht.ping(makeAddress(address.host, address.port), { signal, timeoutMs });
          out.line(`${formatAddress(reply.from)} id ${toHex(reply.id)} in ${reply.rttMs} ms`);
          out.result({ address: formatAddress(reply.from), id: reply.id, rttMs: reply.rttMs, ip: reply.ip });
          return 0;
        } catch (err) {
          throw new CommandError(`no answer from ${target}: ${(err as Error).message}`);
        }
      },
      false,
    );
  },
};
