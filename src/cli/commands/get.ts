import { mutableTarget } from '../../protocols/mainline/bep44.js';
import { fromHex, toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, UsageError, parse, parseHex20 } from '../args.js';
import { createOutput } from '../output.js';
import { CommandError, sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  salt: { type: 'string', short: 's' },
  'public-key': { type: 'string' },
} as const;

export const get: Command = {
  name: 'get',
  summary: 'read a value from the DHT (BEP 44) by target or public key',
  help: `Usage: kadmium get TARGET [--salt S]
       kadmium get --public-key HEX [--salt S]

Reads an item from the K closest nodes, verifies it (hash for immutable items, signature for
mutable ones) and prints the value with the highest sequence number. Exits 1 when no node
holds it. Mutable items need the salt they were published with.

  -s, --salt S               salt of a mutable item
      --public-key HEX       the publisher's 64-hex-character public key, instead of TARGET

Examples:
  kadmium get 2aae6c35c94fcfb415dbe95f408b9ce91ee846ed
  kadmium get --public-key 8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c --salt profile

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    let target: Uint8Array;
    const salt = values.salt === undefined ? undefined : new TextEncoder().encode(values.salt);
    if (values['public-key'] !== undefined) {
      const key = fromHex(values['public-key']);
      if (!key || key.length !== 32)
        throw new UsageError(
          `--public-key must be 64 hex characters (32 bytes), got "${values['public-key']}"`,
        );
      if (positionals.length > 0) throw new UsageError('give either TARGET or --public-key, not both');
      target = mutableTarget(key, salt);
    } else {
      target = parseHex20(positionals[0], 'TARGET');
    }
    const opts = sessionOptions(values, out);
    const { timeoutMs } = opts;
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const item = await dht.get(target, { salt, signal, timeoutMs });
      if (!item) {
        const hint = values.salt === undefined ? ' (a mutable item also needs its --salt)' : '';
        throw new CommandError(`no node holds a valid item for ${toHex(target)}${hint}`);
      }
      const bytes = item.v instanceof Uint8Array ? item.v : undefined;
      const asText = bytes
        ? new TextDecoder('utf-8', { fatal: false }).decode(bytes)
        : JSON.stringify(item.v);
      out.line(asText);
      out.info(
        `${toHex(target)}${item.seq === undefined ? '' : ` seq ${item.seq}`} verified by ${item.verifiedBy} node(s) in ${Date.now() - started} ms`,
      );
      out.result({
        target: toHex(target),
        value: bytes ? asText : item.v,
        valueHex: toHex(item.encoded),
        seq: item.seq,
        publicKey: item.k ? toHex(item.k) : undefined,
        verifiedBy: item.verifiedBy,
        durationMs: Date.now() - started,
      });
      return 0;
    });
  },
};
