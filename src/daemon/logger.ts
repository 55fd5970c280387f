/**
 * Structured logs: one JSON object per line ({"time","level","msg",...fields}) for collectors,
 * or a readable line with colours when writing to a terminal.
 */
import type { LogFormat, LogLevel } from './config-schema.js';

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; default process.stdout. */
  write?: (line: string) => void;
  /** Whether the destination is a terminal (for format "auto"); default process.stdout.isTTY. */
  isTTY?: boolean;
  now?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOUR: Record<LogLevel, string> = {
  debug: '\x1b[2m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};
const RESET = '\x1b[0m';

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const tty = options.isTTY ?? process.stdout.isTTY === true;
  const pretty = options.format === 'pretty' || ((options.format ?? 'auto') === 'auto' && tty);
  const colour = pretty && tty;
  const now = options.now ?? Date.now;

  const make = (base: Fields): Logger => {
    const log = (level: LogLevel, msg: string, fields?: Fields): void => {
      if (RANK[level] < min) return;
      const all = { ...base, ...fields };
      const time = new Date(now()).toISOString();
      if (!pretty) {
        write(`${JSON.stringify({ time, level, msg, ...all }, replacer)}\n`);
        return;
      }
      const extras = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, replacer)}`)
        .join(' ');
      const tag = level.toUpperCase().padEnd(5);
      const head = colour ? `${COLOUR[level]}${tag}${RESET}` : tag;
      write(
        `${time.slice(11, 19)} ${head} ${msg}${extras ? `  ${colour ? '\x1b[2m' : ''}${extras}${colour ? RESET : ''}` : ''}\n`,
      );
    };
    return {
      debug: (m, f) => log('debug', m, f),
      info: (m, f) => log('info', m, f),
      warn: (m, f) => log('warn', m, f),
      error: (m, f) => log('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
