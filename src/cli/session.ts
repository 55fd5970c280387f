/**
 * A short-lived node for one-shot commands (ping, find-node, get-peers, announce): bind, join,
 * run, close; with clear errors when the network cannot be reached.
 */

import { DEFAULT_BOOTSTRAP } from '../node/defaults.js';
import { Dht } from '../node/dht.js';
import { KadmiumError } from '../util/errors.js';
import { parseBootstrap, parsePort, parseTimeoutMs, parseNodeFlags } from './args.js';
import type { Output } from './output.js';

export class CommandError extends Error {
  readonly exitCode = 1;
}

export interface SessionOptions {
  bootstrap: string[] | undefined;
  port: number;
  host: string | undefined;
  timeoutMs: number;
  out: Output;
  /** BEP 32: IPv6 too (`auto`: when the system allows). */
  ipv6?: boolean | 'auto' | undefined;
  /** BEP 43 --read-only: accepted for symmetry with start; one-shot nodes are always read-only. */
  readOnly?: boolean | undefined;
}

/** The common flags of one-shot commands, validated, as session options. */
export function sessionOptions(
  values: {
    bootstrap?: string[] | undefined;
    port?: string | undefined;
    host?: string | undefined;
    timeout?: string | undefined;
    ipv6?: boolean | undefined;
    'no-ipv6'?: boolean | undefined;
    'read-only'?: boolean | undefined;
  },
  out: Output,
  defaultTimeoutMs = 30_000,
): SessionOptions {
  return {
    bootstrap: parseBootstrap(values.bootstrap),
    port: parsePort(values.port, 0),
    host: values.host,
    timeoutMs: parseTimeoutMs(values.timeout, defaultTimeoutMs),
    out,
    ...parseNodeFlags(values),
  };
}

/** Run fn with a joined node; always closes it. Ctrl-C aborts the signal. */
export async function withNode<T>(
  options: SessionOptions,
  fn: (dht: Dht, signal: AbortSignal) => Promise<T>,
  join = true,
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new KadmiumError('ABORTED', 'interrupted'));
  process.once('SIGINT', onSignal);
  // One-shot commands are BEP 43 read-only: they ask but never serve, so the nodes they talk to
  // do not keep a contact that is about to vanish in their routing tables.
  const dht = new Dht({
    port: options.port,
    host: options.host ?? '0.0.0.0',
    bootstrap: options.bootstrap ?? DEFAULT_BOOTSTRAP,
    ipv6: options.ipv6 ?? 'auto',
    readOnly: true,
  });
  try {
    await dht.listen();
    if (join) {
      const routers = options.bootstrap ?? DEFAULT_BOOTSTRAP;
      options.out.info(`joining through ${routers.join(', ')} ...`);
      const joined = await dht.bootstrap({ signal: controller.signal, timeoutMs: options.timeoutMs });
      if (!joined.ok) {
        throw new CommandError(
          `cannot join the DHT: ${joined.message}. Check the network, or pass --bootstrap HOST:PORT ` +
            '(for a local network: kadmium testnet --nodes 50).',
        );
      }
      options.out.info(joined.message);
    }
    return await fn(dht, controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    await dht.close();
  }
}
