/**
 * Child process for the durability test: puts items into a SQLite store in a loop and prints
 * "<i>\n" to stdout after each put has returned. The parent kills it mid-burst with SIGKILL.
 * (stdout to a pipe is synchronous on Linux, so an acknowledgement never precedes its write.)
 */
import { openStorage } from '../../src/storage/open.js';
import { encode } from '../../src/wire/bencode.js';

const MAX_ITEMS = 100_000;

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: durability-child.js <sqlite path>');
  const storage = await openStorage({ kind: 'sqlite', path, itemLimits: { maxItems: MAX_ITEMS } });
  for (let i = 0; i < MAX_ITEMS; i++) {
    const put = await storage.items.put({ v: encode(Buffer.from(`durable-${i}`)) }, i);
    if (!put.ok) throw new Error(`put ${i} refused: ${put.message}`);
    process.stdout.write(`${i}\n`);
  }
  await storage.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
