/** Output helpers: human text to stdout, progress and warnings to stderr, JSON for scripts. */
import type { Address } from '../transport/address.js';

export interface Output {
  readonly json: boolean;
  /** A result line (human mode only). */
  line(text: string): void;
  /** Progress and warnings: stderr, so stdout stays clean for pipes. */
  info(text: string): void;
  /** The one JSON document a --json command prints. */
  result(value: unknown): void;
}

export function createOutput(json: boolean, quiet = false): Output {
  return {
    json,
    line: (text) => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    info: (text) => {
      if (!quiet) process.stderr.write(`${text}\n`);
    },
    result: (value) => {
      if (json) process.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`);
    },
  };
}

export function formatAddress(a: Address): string {
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Bytes print as hex in JSON, bigints as decimal strings. Buffers reach the replacer already turned into
 * { type: 'Buffer', data } by Buffer#toJSON, so both shapes are handled.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  // 64-bit sequence numbers pass 2^53: a string keeps every digit for any JSON reader.
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (isBufferJson(value)) return Buffer.from(value.data).toString('hex');
  return value;
}

function isBufferJson(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}
