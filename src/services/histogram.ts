/** A fixed-bucket histogram in the Prometheus sense: cumulative counts per upper bound, sum, count. */

/** Lookup latency bounds, seconds: lookups take from tens of ms (loopback) to a minute (timeouts). */
export const LOOKUP_SECONDS_BOUNDS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface HistogramSnapshot {
  /** Upper bounds, ascending (the implicit last bucket is +Inf). */
  bounds: number[];
  /** Observations per bucket, not cumulative; one more entry than bounds (the +Inf bucket). */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[] = LOOKUP_SECONDS_BOUNDS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number)))
        throw new RangeError('histogram bounds must ascend');
    }
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: [...this.bounds], counts: [...this.counts], sum: this.sum, count: this.count };
  }
}
