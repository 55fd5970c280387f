/**
 * Caching along the lookup path (Kademlia §2.5) for BEP 44 items, which any node can verify and
 * therefore may hold: after a get, the getter puts the item on the closest node it asked that
 * did not have it, outside the K closest. That node keeps the copy for a TTL that halves for every
 * node its own table knows between it and the K closest to the target, so copies far from the
 * target, where fewer lookups pass, vanish fast, and a copy is never served past its TTL (the
 * item store's `get` checks expiry).
 */
import { compareDistance } from '../../kademlia/id.js';
import type { RoutingTable } from '../../kademlia/routing-table.js';

/** A cache copy shorter-lived than this is not worth a slot in the item store, ms. */
export const CACHE_MIN_TTL_MS = 60_000;
/** Nodes beyond the K closest we count; farther than this we decline the copy. */
export const CACHE_MAX_BEYOND = 8;

/**
 * How long to keep a cache copy of target, ms: `fullTtlMs / 2^b`, where b >= 1 is how far past
 * the K closest our table puts us; undefined when we are among the K closest (a primary copy,
 * the full TTL) or too far for a copy to be worth keeping.
 */
export function cacheTtlMs(
  table: Pick<RoutingTable, 'closest'>,
  localId: Uint8Array,
  target: Uint8Array,
  k: number,
  fullTtlMs: number,
): number | undefined {
  const known = table.closest(target, k + CACHE_MAX_BEYOND);
  let closer = 0;
  for (const c of known) if (compareDistance(target, c.id, localId) < 0) closer++;
  if (closer < k) return undefined;
  const ttl = fullTtlMs / 2 ** (closer - k + 1);
  return ttl >= CACHE_MIN_TTL_MS && closer < k + CACHE_MAX_BEYOND ? ttl : undefined;
}
