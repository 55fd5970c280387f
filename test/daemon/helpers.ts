/** Shared helpers for daemon tests: a config on loopback with ephemeral ports and a temp data dir. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DaemonConfig, loadConfig } from '../../src/daemon/config.js';
import { createLogger, type Logger } from '../../src/daemon/logger.js';

export function testConfig(bootstrap: string[], extra: Record<string, string> = {}): DaemonConfig {
  return loadConfig({
    env: {},
    flags: {
      data_dir: mkdtempSync(join(tmpdir(), 'kadmium-daemon-')),
      'node.host': '127.0.0.1',
      'node.port': '0',
      'node.bootstrap': bootstrap.length > 0 ? bootstrap.join(',') : 'none',
      'api.port': '0',
      ...extra,
    },
  });
}

/** A logger that keeps JSON lines in memory. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    format: 'json',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { log, lines };
}

/** Poll until check() is truthy or the time is up; bounded. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
