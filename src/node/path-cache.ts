/**
 * The getter's side of caching along the lookup path (Kademlia §2.5; the keeper's side and the
 * TTL rule are in protocols/mainline/path-cache.ts): after a get found an item, put it on the
 * closest node that answered without it and is not among the K closest that answered. Such a
 * node sits one step before the target on paths like ours, so the next getter of a popular item
 * meets the copy a hop earlier. Fire and forget: the get has already returned.
 */
import { compareDistance } from '../kademlia/id.js';
import type { ItemReply, MainlineClient } from '../protocols/mainline/client.js';
import { toHex } from '../util/bytes.js';
import type { GetResult } from './items.js';

/** Replies without the item a get remembers to choose a cache node from. */
export const MAX_MISSES = 64;

/** Remember replies that carried a token but not the item, nearest first, at most MAX_MISSES. */
export class Misses {
  private readonly list: ItemReply[] = [];

  constructor(private readonly target: Uint8Array) {}

  add(reply: ItemReply): void {
    if (reply.token === undefined || reply.v !== undefined) return;
    this.list.push(reply);
    if (this.list.length > MAX_MISSES) {
      this.list.sort((a, b) => compareDistance(this.target, a.id, b.id));
      this.list.length = MAX_MISSES;
    }
  }

  /** The nearest miss that is none of `primaries` (the K closest that answered). */
  pick(primaries: readonly { id: Uint8Array }[]): ItemReply | undefined {
    const taken = new Set(primaries.map((p) => toHex(p.id)));
    this.list.sort((a, b) => compareDistance(this.target, a.id, b.id));
    return this.list.find((r) => !taken.has(toHex(r.id)));
  }
}

/** Put `item` on `to` with the token it gave us; failures are only counted by the caller. */
export async function putCopy(
  client: MainlineClient,
  to: ItemReply,
  item: GetResult,
  salt: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await client.put(
      to.from,
      {
        token: to.token as Uint8Array,
        v: item.v,
        ...(item.k ? { k: item.k, sig: item.sig, seq: item.seq } : {}),
        ...(salt ? { salt } : {}),
      },
      { signal },
    );
    return true;
  } catch {
    return false;
  }
}
