/**
 * The overlay node's put and get of signed items, over its lookups: a put learns the highest seq
 * the network holds (from items that verify) before it signs the next one; a get keeps only items
 * that verify against the target asked for and returns the highest seq (Skywire never checked the
 * target, spec §3).
 */
import { WITHHELD_WEIGHT } from '../kademlia/reputation.js';
import type { OverlayContact } from '../protocols/overlay/client.js';
import type { OverlayIdentity } from '../protocols/overlay/identity.js';
import { isTombstone, MAX_SEQ, type MutableItem, signItem, verifyItem } from '../protocols/overlay/item.js';
import { KadmiumError } from '../util/errors.js';
import type { OverlayLookups } from './overlay-lookups.js';
import type { OverlayGetResult, OverlayPutResult } from './overlay-options.js';

/** Valid items one get remembers the senders of, for the stale check (a lookup asks far fewer). */
const MAX_SERVED = 256;

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
    if (!reply.item || !verifyItem(reply.item, store.options.limits, target).ok) return false;
    if (reply.item.seq > remoteSeq) remoteSeq = reply.item.seq;
    return true;
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
  const judge = lookups.judge();
  // Who served which valid seq: once the highest is known, the lower ones were stale.
  const served: { contact: OverlayContact; seq: bigint }[] = [];
  const found = await lookups.run(
    target,
    'get_value',
    signal,
    (contact, reply) => {
      if (!reply.item) return false;
      let check = verifyItem(reply.item, store.options.limits, target);
      // A mirror the caller turns down verified on its own: no lie, just not wanted.
      let declined = false;
      if (!check.ok && check.code === 'TARGET_MISMATCH' && acceptMirror) {
        check = verifyItem(reply.item, store.options.limits);
        if (check.ok && !acceptMirror(reply.item)) {
          declined = true;
          check = { ok: false, code: 'TARGET_MISMATCH', message: 'a mirror the caller did not accept' };
        }
      }
      if (!check.ok) {
        lies++;
        if (!declined) judge?.lie(contact, 1);
        events.emit('overlay:lie', { from: contact.address, reason: check.message });
        return false;
      }
      sources++;
      firstMs ??= clock.now() - started;
      if (served.length < MAX_SERVED) served.push({ contact, seq: reply.item.seq });
      if (!best || reply.item.seq > best.seq) best = reply.item;
      return true;
    },
    undefined,
    judge,
  );
  // Weak evidence, like a withheld value: an honest node may have missed the update.
  const top = best?.seq;
  if (judge && top !== undefined)
    for (const s of served) if (s.seq < top) judge.lie(s.contact, WITHHELD_WEIGHT);
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
