/**
 * The expiry index of the memory backends: a binary min-heap on expiresAt over the records of a
 * keyed map. Finding the stalest record is O(1) and removing it O(log n), whatever order records
 * arrive in (a Map's insertion order is not enough: the clock may step back, and a Map whose front
 * keeps being deleted makes every walk from its start skip the holes left behind).
 *
 * Deletion is lazy: an entry is current while the map still holds the very record it points to.
 * Replacing or deleting a record leaves a stale entry behind, dropped when it reaches the top or
 * when stale entries outnumber live ones (the heap is then rebuilt from the map, O(n) once per n
 * changes). The map is passed in on each call rather than held, and owners make the heap on their
 * first store: most nodes hold nothing, and a node's empty stores should cost nothing.
 */

interface Entry<R> {
  readonly key: string;
  readonly record: R;
}

/** Stale entries kept at most, beyond one per live record, before a rebuild. */
const STALE_SLACK = 64;

export class ExpiryHeap<R extends { readonly expiresAt: number }> {
  private entries: Entry<R>[] = [];

  /** Index a record just set in `map` (the map this heap indexes, read only) under `key`. */
  add(map: ReadonlyMap<string, R>, key: string, record: R): void {
    if (this.entries.length > 2 * map.size + STALE_SLACK) this.rebuild(map);
    else this.push({ key, record });
  }

  /** The stalest record `map` holds, if any. */
  peek(map: ReadonlyMap<string, R>): { key: string; record: R } | undefined {
    let top = this.entries[0];
    while (top && map.get(top.key) !== top.record) {
      this.pop();
      top = this.entries[0];
    }
    return top;
  }

  /** Up to `limit` records, stalest first (they stay indexed). */
  list(map: ReadonlyMap<string, R>, limit: number): R[] {
    if (limit === 1) {
      const top = this.peek(map);
      return top ? [top.record] : [];
    }
    const taken: Entry<R>[] = [];
    while (taken.length < limit) {
      const top = this.peek(map);
      if (!top) break;
      taken.push(top);
      this.pop();
    }
    for (const entry of taken) this.push(entry);
    return taken.map((e) => e.record);
  }

  /** Drop the index entry at the top (after the caller deleted its record, or to skip it). */
  pop(): void {
    const { entries } = this;
    const last = entries.pop();
    if (!last || entries.length === 0) return;
    entries[0] = last;
    this.down(0);
  }

  private push(entry: Entry<R>): void {
    this.entries.push(entry);
    this.up(this.entries.length - 1);
  }

  private rebuild(map: ReadonlyMap<string, R>): void {
    this.entries = [];
    for (const [key, record] of map) this.entries.push({ key, record });
    for (let i = (this.entries.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const { entries } = this;
    const entry = entries[i] as Entry<R>;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = entries[parent] as Entry<R>;
      if (p.record.expiresAt <= entry.record.expiresAt) break;
      entries[i] = p;
      i = parent;
    }
    entries[i] = entry;
  }

  private down(i: number): void {
    const { entries } = this;
    const n = entries.length;
    const entry = entries[i] as Entry<R>;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        (entries[right] as Entry<R>).record.expiresAt < (entries[child] as Entry<R>).record.expiresAt
      )
        child = right;
      const c = entries[child] as Entry<R>;
      if (c.record.expiresAt >= entry.record.expiresAt) break;
      entries[i] = c;
      i = child;
    }
    entries[i] = entry;
  }
}
