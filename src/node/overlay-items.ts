/**
 * The overlay node's put and get of signed items, over its lookups: a put learns the highest seq
 * the network holds (from items that verify) before it signs the next one; a get keeps only items
 * that verify against the target asked for and returns the highest seq (Skywire never checked the
 * target, spec §3).
 */
import type { OverlayIdentity } from '../protocols/overlay/identity.js';
import { isTombstone, MAX_SEQ, type MutableItem, signItem, verifyItem } from '../protocols/overlay/item.js';
import { KadmiumError } from '../util/errors.js';
import type { OverlayLookups } from './overlay-lookups.js';
import type { OverlayGetResult, OverlayPutResult } from './overlay-options.js';

/** Sign `value` under `salt` with a seq that never repeats and store it on the closest nodes. */
export async function publishItem(
  lookups: OverlayLookups,
  identity: OverlayIdentity,
  value: Uint8Array,
  salt: Uint8Array,
  target: Uint8Array,
  signal: AbortSignal,
  cas: bigint | undefined,
): Promise<OverlayPutResult> {
  const { table, store, seqs, clock } = lookups.parts;
  if (table.size === 0) {
    // Alone in the network: keep it here (Skywire: "stored locally only").
    const item = signItem(identity, value, await seqs.next(target, -1n), salt);
    const local = await store.put(item, clock.now(), { cas });
    if (!local.ok) throw new KadmiumError('PUT_REJECTED', local.message);
    await seqs.used(target, item.seq);
    return { target, seq: item.seq, stored: 0, asked: 0, storedLocally: true };
  }
  // The highest seq the network holds, from items that verify: a forged one could otherwise
  // push our seq to the top of the range.
  let remoteSeq = -1n;
  const found = await lookups.run(target, 'get_value', signal, (_contact, reply) => {
    if (reply.item && reply.item.seq > remoteSeq && verifyItem(reply.item, store.options.limits, target).ok)
      remoteSeq = reply.item.seq;
  });
  if (remoteSeq >= MAX_SEQ) {
    throw new KadmiumError(
      'SEQ_EXHAUSTED',
      'the stored seq is the largest uint64; publish under another salt',
    );
  }
  const item = signItem(identity, value, await seqs.next(target, remoteSeq), salt);
  return lookups.storeAt(item, target, found, signal, cas);
}

/**
 * The verified item with the highest seq at `target`, starting from what we hold. `acceptMirror`
 * also takes an item another key signed under this target when it verifies on its own and the
 * caller says yes (discovery's mirrors).
 */
export async function findItem(
  lookups: OverlayLookups,
  target: Uint8Array,
  signal: AbortSignal,
  acceptMirror: ((item: MutableItem) => boolean) | undefined,
): Promise<OverlayGetResult | undefined> {
  const { table, store, clock, events } = lookups.parts;
  let best: MutableItem | undefined = await store.get(target, clock.now());
  if (table.size === 0) {
    // Alone (or cut off): what we hold is all there is; a lone put keeps items here.
    return best ? { item: best, deleted: isTombstone(best), sources: 0, lies: 0 } : undefined;
  }
  const started = clock.now();
  let firstMs: number | undefined;
  let sources = 0;
  let lies = 0;
  const found = await lookups.run(target, 'get_value', signal, (contact, reply) => {
    if (!reply.item) return;
    let check = verifyItem(reply.item, store.options.limits, target);
    if (!check.ok && check.code === 'TARGET_MISMATCH' && acceptMirror) {
      check = verifyItem(reply.item, store.options.limits);
      if (check.ok && !acceptMirror(reply.item)) {
        check = { ok: false, code: 'TARGET_MISMATCH', message: 'a mirror the caller did not accept' };
      }
    }
    if (!check.ok) {
      lies++;
      events.emit('overlay:lie', { from: contact.address, reason: check.message });
      return;
    }
    sources++;
    firstMs ??= clock.now() - started;
    if (!best || reply.item.seq > best.seq) best = reply.item;
  });
  events.emit('overlay:get', {
    target,
    found: best !== undefined,
    sources,
    lies,
    queried: found.queried,
    durationMs: clock.now() - started,
    ...(firstMs !== undefined ? { firstMs } : {}),
  });
  return best ? { item: best, deleted: isTombstone(best), sources, lies } : undefined;
}
