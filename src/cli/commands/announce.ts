import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, parse, parseHex20, parsePort, parseTimeoutMs, UsageError } from '../args.js';
import { createOutput } from '../output.js';
import { CommandError, sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = { ...COMMON_OPTIONS, seed: { type: 'boolean' } } as const;

export const announce: Command = {
  name: 'announce',
  summary: 'announce a peer for an infohash to the closest nodes',
  help: `Usage: kadmium announce INFOHASH [--port N] [options]

Looks up the K closest nodes to INFOHASH and announces a peer at our IP and port N
(announce_peer with their write tokens). Others find it with get-peers.

  -p, --port N               the port peers should connect to (the TCP/uTP port of your
                             torrent client). Without it, the source port of this
                             command's own DHT socket is announced (implied_port), which
                             is only useful for testing. The DHT socket binds a free port.
      --seed                 announce as a seed (BEP 33)

Examples:
  kadmium announce 08ada5a7a6183aae1e09d831df6748d566095a10 --port 51413
  kadmium announce 08ada5a7a6183aae1e09d831df6748d566095a10 --port 51413 --bootstrap 127.0.0.1:6900

${COMMON_HELP.replace(/ {2}-p, --port N[^\n]*\n/, '')}`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const infoHash = parseHex20(positionals[0], 'INFOHASH');
    const peerPort = values.port === undefined ? undefined : parsePort(values.port, 0);
    if (peerPort === 0)
      throw new UsageError('--port must be 1-65535 for announce: it is the port peers connect to');
    const timeoutMs = parseTimeoutMs(values.timeout, 30_000);
    // --port is the announced port here; the one-shot DHT socket binds any free port.
    const opts = { ...sessionOptions({ ...values, port: undefined }, out), timeoutMs };
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const result = await dht.announce(infoHash, {
        port: peerPort,
        seed: values.seed ?? false,
        signal,
        timeoutMs,
      });
      const portText = peerPort ?? `${dht.address.port} (implied)`;
      if (result.announcedTo === 0) {
        throw new CommandError(
          `no node accepted the announce (${result.candidates} gave tokens); try again, or check --bootstrap`,
        );
      }
      out.line(
        `announced ${toHex(infoHash)} port ${portText} to ${result.announcedTo} node(s) in ${Date.now() - started} ms`,
      );
      out.result({
        infoHash: toHex(infoHash),
        port: peerPort ?? dht.address.port,
        impliedPort: peerPort === undefined,
        announcedTo: result.announcedTo,
        candidates: result.candidates,
        durationMs: Date.now() - started,
      });
      return 0;
    });
  },
};
