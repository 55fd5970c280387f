/**
 * Maps made on first write. Many per-node maps stay empty for a node's whole life (items held,
 * put locks, published items, announced peers), and an empty Map costs ~150 bytes. Such an owner
 * starts with the one shared empty map, which is only ever read (get, has, size, iteration, and
 * deletes that find nothing), and takes a map of its own with `ownMap` just before its first set.
 */
const SHARED = new Map<unknown, unknown>();

export function sharedEmptyMap<K, V>(): Map<K, V> {
  return SHARED as Map<K, V>;
}

/** `map` itself once it is the owner's own; a new Map while it is still the shared empty one. */
export function ownMap<K, V>(map: Map<K, V>): Map<K, V> {
  return map === (SHARED as Map<K, V>) ? new Map() : map;
}
