/**
 * Node ids of any length (20 bytes for Mainline, 32 for a SHA-256 overlay). Plain Uint8Array under
 * a branded type; XOR distance is compared byte by byte without building the XOR.
 */
import { fromHex, toHex } from '../util/bytes.js';
import type { Random } from '../util/random.js';

export type NodeId = Uint8Array & { readonly __nodeId: unique symbol };

export function asNodeId(bytes: Uint8Array): NodeId {
  return bytes as NodeId;
}

export function nodeIdFromHex(hex: string, length: number): NodeId | undefined {
  const bytes = fromHex(hex);
  return bytes && bytes.length === length ? asNodeId(bytes) : undefined;
}

export function randomNodeId(random: Random, length: number): NodeId {
  return asNodeId(random.bytes(length));
}

export const idToHex = toHex;

export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/**
 * Compare the XOR distances of a and b to target: negative when a is closer, positive when b is,
 * zero when a and b are the same id.
 */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const t = target[i] as number;
    const da = (a[i] as number) ^ t;
    const db = (b[i] as number) ^ t;
    if (da !== db) return da - db;
  }
  return 0;
}

/** Number of leading bits a and b share (id length * 8 when equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) ^ (b[i] as number);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

/** The bit at position `bit` (0 = most significant bit of byte 0). */
export function bitAt(id: Uint8Array, bit: number): number {
  return ((id[bit >> 3] as number) >> (7 - (bit & 7))) & 1;
}

/**
 * A random id sharing exactly `prefixBits` leading bits with `base` (the next bit flipped), i.e. a
 * random id in the bucket at that depth; with prefixBits = length*8 returns base itself.
 */
export function randomIdWithPrefix(random: Random, base: Uint8Array, prefixBits: number): NodeId {
  const out = random.bytes(base.length);
  const bits = base.length * 8;
  if (prefixBits >= bits) return asNodeId(base.slice());
  const fullBytes = prefixBits >> 3;
  for (let i = 0; i < fullBytes; i++) out[i] = base[i] as number;
  const rem = prefixBits & 7;
  const mask = rem === 0 ? 0 : (0xff << (8 - rem)) & 0xff;
  out[fullBytes] = ((base[fullBytes] as number) & mask) | ((out[fullBytes] as number) & ~mask & 0xff);
  // Flip the first bit after the prefix so the id lands in exactly this bucket.
  const flip = 0x80 >> rem;
  out[fullBytes] = ((out[fullBytes] as number) & ~flip) | (~(base[fullBytes] as number) & flip);
  return asNodeId(out);
}

/**
 * log2 of the XOR distance between a and b, fractional (0 for equal ids, and for distance 1).
 * The first differing byte and the five after it give 48 bits of mantissa: plenty for a log.
 */
export function log2Distance(a: Uint8Array, b: Uint8Array): number {
  const bytes = Math.min(a.length, b.length);
  for (let i = 0; i < bytes; i++) {
    if (((a[i] as number) ^ (b[i] as number)) === 0) continue;
    const end = Math.min(bytes, i + 6);
    let m = 0;
    for (let j = i; j < end; j++) m = m * 256 + (((a[j] as number) ^ (b[j] as number)) & 255);
    return Math.log2(m) + 8 * (bytes - end);
  }
  return 0;
}

/**
 * log2 distance from `target` of the `rank`-th closest of `ids`, or undefined when there are
 * fewer: with fewer the farthest one would read as a denser neighbourhood than there is.
 */
export function rankLog2Distance(
  target: Uint8Array,
  ids: readonly Uint8Array[],
  rank: number,
): number | undefined {
  if (rank < 1 || ids.length < rank) return undefined;
  const d = ids.map((id) => log2Distance(target, id)).sort((x, y) => x - y);
  return d[rank - 1];
}
