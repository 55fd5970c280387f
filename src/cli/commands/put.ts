import { toHex } from '../../util/bytes.js';
import { COMMON_OPTIONS, UsageError, parse } from '../args.js';
import { readKeyFile } from '../keys.js';
import { createOutput } from '../output.js';
import { sessionOptions, withNode } from '../session.js';
import { COMMON_HELP, type Command } from './types.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  mutable: { type: 'boolean', short: 'm' },
  key: { type: 'string', short: 'k' },
  salt: { type: 'string', short: 's' },
  seq: { type: 'string' },
  cas: { type: 'string' },
} as const;

function parseSeq(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UsageError(`${what} must be a non-negative integer, got "${text}"`);
  return Number(text);
}

export const put: Command = {
  name: 'put',
  summary: 'store a value in the DHT (BEP 44), immutable or signed and mutable',
  help: `Usage: kadmium put VALUE [options]
       kadmium put --mutable --key FILE [--salt S] [--seq N] [--cas N] VALUE

Stores VALUE (text, stored as a UTF-8 byte string, at most ~1000 bytes) on the K closest
nodes and prints its target, the 40-hex-character key others read it with.

Immutable: the target is SHA-1 of the value, so the value can never change.
Mutable: signed with your key (kadmium keygen); the target is SHA-1(public key + salt), and
publishing again replaces the value. Without --seq, the next sequence number is used.

  -m, --mutable              publish a signed, mutable item
  -k, --key FILE             key file from kadmium keygen (required with --mutable)
  -s, --salt S               salt: lets one key publish several items (at most 64 bytes)
      --seq N                sequence number to publish (default: latest + 1)
      --cas N                only replace the item if its current seq is N

Examples:
  kadmium put "hello world"
  kadmium put --mutable --key alice.key --salt profile '{"name":"alice"}'

${COMMON_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const text = positionals[0];
    if (text === undefined) throw new UsageError('missing VALUE to store');
    if (positionals.length > 1)
      throw new UsageError('give VALUE as one argument (quote it if it has spaces)');
    const v = new TextEncoder().encode(text);
    if (!values.mutable && (values.key || values.salt || values.seq || values.cas))
      throw new UsageError('--key, --salt, --seq and --cas are for mutable items: add --mutable');
    if (values.mutable && !values.key)
      throw new UsageError('--mutable needs --key FILE (create one with kadmium keygen)');
    const keyPair = values.key ? readKeyFile(values.key) : undefined;
    const seq = parseSeq(values.seq, '--seq');
    const cas = parseSeq(values.cas, '--cas');
    const opts = sessionOptions(values, out);
    const { timeoutMs } = opts;
    return withNode(opts, async (dht, signal) => {
      const started = Date.now();
      const result = keyPair
        ? await dht.putMutable({
            keyPair,
            v,
            salt: values.salt,
            seq,
            cas,
            signal,
            timeoutMs,
            republish: false,
          })
        : await dht.putImmutable(v, { signal, timeoutMs, republish: false });
      const seqText = result.seq === undefined ? '' : ` seq ${result.seq}`;
      out.line(
        `stored ${toHex(result.target)}${seqText} on ${result.storedOn} node(s) in ${Date.now() - started} ms`,
      );
      if (keyPair)
        out.info(
          `read it with: kadmium get ${toHex(result.target)}${values.salt ? ` --salt ${values.salt}` : ''}`,
        );
      out.result({
        target: toHex(result.target),
        mutable: keyPair !== undefined,
        seq: result.seq,
        publicKey: keyPair ? toHex(keyPair.publicKey) : undefined,
        salt: values.salt,
        storedOn: result.storedOn,
        durationMs: Date.now() - started,
      });
      return 0;
    });
  },
};
