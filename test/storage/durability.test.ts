import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { immutableTarget } from '../../src/protocols/mainline/bep44.js';
import { openStorage } from '../../src/storage/open.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'durability-child.js');
/** Kill the writer once it has acknowledged this many puts. */
const KILL_AFTER_ACKS = 300;
const TIMEOUT_MS = 30_000;

describe('SQLite durability', () => {
  it('keeps every acknowledged item when the writer is SIGKILLed mid-burst', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-durability-'));
    try {
      const path = join(dir, 'store.db');
      const acked = await new Promise<number[]>((resolve, reject) => {
        const child = spawn(process.execPath, [CHILD, path], { stdio: ['ignore', 'pipe', 'pipe'] });
        const acks: number[] = [];
        let pending = '';
        let stderr = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(
            new Error(`writer acknowledged only ${acks.length} puts in ${TIMEOUT_MS} ms; stderr: ${stderr}`),
          );
        }, TIMEOUT_MS);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.stdout.on('data', (d: Buffer) => {
          pending += d.toString();
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) acks.push(Number(line));
          if (acks.length >= KILL_AFTER_ACKS && child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
          }
        });
        // 'close' fires after stdout is drained, so acks written before the kill are all counted.
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          if (signal !== 'SIGKILL')
            reject(new Error(`writer ended by itself (code ${code}); stderr: ${stderr}`));
          else resolve(acks);
        });
      });
      assert.ok(acked.length >= KILL_AFTER_ACKS);
      assert.deepEqual(acked.slice(0, 5), [0, 1, 2, 3, 4], 'acknowledgements are in order, one per line');
      const storage = await openStorage({ kind: 'sqlite', path });
      try {
        const missing: number[] = [];
        for (const i of acked) {
          if (!(await storage.items.get(immutableTarget(Buffer.from(`durable-${i}`)), 0))) missing.push(i);
        }
        assert.deepEqual(missing, [], `acknowledged items lost after SIGKILL (of ${acked.length})`);
        assert.ok((await storage.items.count()) >= acked.length);
      } finally {
        await storage.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
