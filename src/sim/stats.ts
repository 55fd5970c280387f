/** Small summary statistics for simulator and benchmark reports. */

export interface Summary {
  count: number;
  mean: number;
  median: number;
  p95: number;
  p99: number;
  max: number;
}

/** The p-quantile (0..1) of an ascending array, nearest-rank; NaN when empty. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

/** Counts of integer values 0..max (values above max land in the last slot). */
export function histogram(values: readonly number[], max: number): number[] {
  const out = new Array<number>(max + 1).fill(0);
  for (const v of values) {
    const i = Math.min(max, Math.max(0, Math.round(v)));
    out[i] = (out[i] as number) + 1;
  }
  return out;
}

/** Round to `digits` decimals, for stable, readable reports. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
