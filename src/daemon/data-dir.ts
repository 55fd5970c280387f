/** The daemon's data directory: created on start; holds the routing table (and storage files). */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportedTable } from '../kademlia/routing-table.js';

export const TABLE_FILE = 'routing-table.json';

export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(
      `cannot create data dir ${dir}: ${(err as Error).message}; choose another with --data-dir`,
    );
  }
}

export type LoadedTable = { table: ExportedTable } | { missing: true } | { error: string };

/** The saved routing table, if there is a readable one. */
export function loadTable(dir: string): LoadedTable {
  const path = join(dir, TABLE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { error: `cannot read ${path}: ${(err as Error).message}` };
  }
  try {
    const table = JSON.parse(text) as ExportedTable;
    if (typeof table.id !== 'string' || !/^[0-9a-f]{40}$/i.test(table.id) || !Array.isArray(table.nodes))
      return { error: `${path} is not a saved routing table` };
    const nodes = table.nodes.filter(
      (n) => typeof n?.id === 'string' && typeof n.host === 'string' && Number.isInteger(n.port),
    );
    return { table: { id: table.id, nodes } };
  } catch (err) {
    return { error: `${path} is not JSON: ${(err as Error).message}` };
  }
}

/** Save atomically (write a temp file, then rename), so a crash never leaves half a table. */
export function saveTable(dir: string, table: ExportedTable): string {
  const path = join(dir, TABLE_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(table)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}
