/**
 * A candidate signal for a targeted eclipse (docs/SECURITY.md): attackers who choose ids around
 * one target make the closest contacts a lookup finds for it implausibly dense. With n nodes
 * spread evenly, the k-th closest of a target sits near log2(k / n) + 160 bits of XOR distance,
 * whatever the target, and varies little (the k-th order statistic); ids placed around one target
 * pull it many bits lower. A node learns its own expected level from lookups of random targets,
 * so no network size is configured. Measured in the simulator only (cli/anomaly-sim.ts): a rule
 * in the detector would need each lookup's closest ids, which the lookup event does not carry.
 */

/** Contacts whose distance is read: the k-th closest (Mainline's k). */
export const DENSITY_RANK = 8;

/** log2 of the XOR distance of two 20-byte ids, fractional (0 for equal ids). */
export function log2Distance(a: Uint8Array, b: Uint8Array): number {
  const bytes = Math.min(a.length, b.length);
  for (let i = 0; i < bytes; i++) {
    const x = ((a[i] as number) ^ (b[i] as number)) & 255;
    if (x === 0) continue;
    // The first non-zero byte and the next five give 48 bits of mantissa: plenty for a log.
    let m = 0;
    for (let j = i; j < Math.min(bytes, i + 6); j++)
      m = m * 256 + (((a[j] as number) ^ (b[j] as number)) & 255);
    const rest = bytes - Math.min(bytes, i + 6);
    return Math.log2(m) + 8 * rest;
  }
  return 0;
}

/** log2 distance of the `rank`-th closest id to `target` (the farthest when fewer), or null for none. */
export function rankDistance(
  target: Uint8Array,
  ids: readonly Uint8Array[],
  rank = DENSITY_RANK,
): number | null {
  if (ids.length === 0) return null;
  const d = ids.map((id) => log2Distance(target, id)).sort((x, y) => x - y);
  return d[Math.min(rank, d.length) - 1] as number;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] as number;
}
