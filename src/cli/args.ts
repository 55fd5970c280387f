/**
 * Shared CLI argument handling: parse with node:util, validate with messages that say what is
 * wrong and what a right value looks like, and fail with exit code 2.
 */
import { parseArgs } from 'node:util';
import { type OverlayBootstrap } from '../node/overlay-node.js';
import { parseOverlayBootstrap } from '../node/overlay-tcp.js';
import { isValidPort, parseHostPort } from '../transport/address.js';
import { fromHex } from '../util/bytes.js';

export class UsageError extends Error {
  readonly exitCode = 2;
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** Options every command takes. */
export const COMMON_OPTIONS = {
  bootstrap: { type: 'string', short: 'b', multiple: true },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // BEP 32, BEP 43
  ipv6: { type: 'boolean' },
  'no-ipv6': { type: 'boolean' },
  'read-only': { type: 'boolean' },
} as const satisfies OptionSpec;

/** --ipv6 / --no-ipv6 (BEP 32) and --read-only (BEP 43), as Dht options. */
export function parseNodeFlags(values: {
  ipv6?: boolean | undefined;
  'no-ipv6'?: boolean | undefined;
  'read-only'?: boolean | undefined;
}): { ipv6: boolean | 'auto'; readOnly: boolean } {
  if (values.ipv6 && values['no-ipv6']) throw new UsageError('give --ipv6 or --no-ipv6, not both');
  return {
    ipv6: values.ipv6 ? true : values['no-ipv6'] ? false : 'auto',
    readOnly: values['read-only'] ?? false,
  };
}

export interface Parsed<T extends OptionSpec> {
  values: {
    [K in keyof T]?: T[K]['multiple'] extends true
      ? string[]
      : T[K]['type'] extends 'boolean'
        ? boolean
        : string;
  };
  positionals: string[];
}

export function parse<T extends OptionSpec>(argv: string[], options: T): Parsed<T> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Parsed<T>['values'], positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

export function parseHex20(text: string | undefined, what: string): Uint8Array {
  if (text === undefined) throw new UsageError(`missing ${what}: give 40 hex characters (20 bytes)`);
  const bytes = fromHex(text);
  if (!bytes || bytes.length !== 20) {
    throw new UsageError(
      `${what} must be 40 hex characters (20 bytes), got "${text}" (${text.length} characters)`,
    );
  }
  return bytes;
}

export function parsePort(text: string | undefined, fallback: number, what = '--port'): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a number 0-65535, got "${text}"`);
  const port = Number(text);
  if (port !== 0 && !isValidPort(port)) throw new UsageError(`${what} must be 0-65535, got ${port}`);
  return port;
}

export function parsePositiveInt(
  text: string | undefined,
  fallback: number,
  what: string,
  max = 1_000_000,
): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new UsageError(`${what} must be a whole number 1-${max}, got "${text}"`);
  return Number(text);
}

/**
 * --bootstrap values: repeatable and comma-separated; each checked as HOST:PORT. "none" means no
 * bootstrap at all (the first node of a private network).
 */
export function parseBootstrap(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  if (values.length === 1 && values[0] === 'none') return [];
  const out = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  for (const entry of out) {
    const parsed = parseHostPort(entry);
    if ('error' in parsed) throw new UsageError(`--bootstrap: ${parsed.error}`);
  }
  return out;
}

/** --timeout in seconds (decimals allowed), as ms. */
export function parseTimeoutMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, got "${text}"`);
  return Math.round(s * 1000);
}

/** Repeatable, comma-separated PUBKEY@HOST:PORT flags ("none" for none); a bad one is a usage error. */
export function parseOverlayPeers(list: string[] | undefined, flag: string): OverlayBootstrap[] {
  return (list ?? [])
    .flatMap((b) => b.split(','))
    .filter((b) => b !== '' && b !== 'none')
    .map((b) => {
      try {
        return parseOverlayBootstrap(b);
      } catch (err) {
        throw new UsageError(`${flag}: ${(err as Error).message}`);
      }
    });
}
