/**
 * Full-node reconciliation (Skywire's later `dht.go`, spec §3): two full nodes exchange what the
 * other lacks, so a full node that was down catches up.
 *
 * Pull: page through the peer's items with GetItems (by seq, never splitting equal seqs) and
 * store each through the normal policy (signatures checked, seq rules, mirror puts gated by
 * trust). Push: send the peer, with PutBatch in chunks under the frame limit, every item of ours
 * whose target its pages did not list.
 */
import type { OverlayClient, OverlayContact } from '../protocols/overlay/client.js';
import { bytesToBinaryString } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';
import { itemTarget, type MutableItem } from '../protocols/overlay/item.js';
import type { OverlayStore } from '../protocols/overlay/store.js';
import type { NodeId } from '../kademlia/id.js';

/** Items per GetItems page asked for. */
const PAGE = 500;
/** Bytes of items per PutBatch (Skywire kept batches under 3 MiB for its 4 MiB frame cap). */
const BATCH_BYTES = 512 * 1024;
/** Pages one reconciliation reads at most. */
const MAX_PAGES = 10_000;

export interface ReconcileResult {
  pulled: number;
  pulledNew: number;
  pushed: number;
  pushedStored: number;
}

export async function reconcile(
  client: OverlayClient,
  store: OverlayStore,
  clock: Clock,
  peer: OverlayContact,
  signal: AbortSignal,
): Promise<ReconcileResult> {
  const theirs = new Set<string>();
  let since = 0n;
  let pulled = 0;
  let pulledNew = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const reply = await client.request(peer, 'get_items', { sinceSeq: since, limit: PAGE }, signal);
    for (let i = 0; i < reply.items.length; i++) {
      const item = reply.items[i] as MutableItem;
      const target = reply.targets[i] ?? itemTarget(item.k, item.salt);
      theirs.add(bytesToBinaryString(target));
      pulled++;
      const mirror = !bytesEqual(target, itemTarget(item.k, item.salt));
      const result = await store.put(item, clock.now(), mirror ? { mirrorTarget: target } : {});
      if (result.ok) pulledNew++;
      if (item.seq > since) since = item.seq;
    }
    if (!reply.hasMore || reply.items.length === 0) break;
  }
  // Push what the peer lacks, in batches that stay far below the frame limit.
  const ours = await store.getItems(undefined, 0n, Number.MAX_SAFE_INTEGER, clock.now());
  const missing = ours.items.filter((e) => !theirs.has(bytesToBinaryString(e.target)));
  let pushedStored = 0;
  let batch: { items: MutableItem[]; targets: NodeId[] } = { items: [], targets: [] };
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.items.length === 0) return;
    const reply = await client.request(peer, 'put_batch', batch, signal);
    pushedStored += reply.stored.filter(Boolean).length;
    batch = { items: [], targets: [] };
    bytes = 0;
  };
  for (const { target, item } of missing) {
    const own = bytesEqual(target, itemTarget(item.k, item.salt));
    batch.items.push(item);
    // A zero target means "its own"; a mirror keeps the subject's target.
    batch.targets.push((own ? new Uint8Array(32) : target) as NodeId);
    bytes += item.v.length + 300;
    if (bytes >= BATCH_BYTES) await flush();
  }
  await flush();
  return { pulled, pulledNew, pushed: missing.length, pushedStored };
}
