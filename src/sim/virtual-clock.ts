/**
 * Virtual time: a scheduler over a binary heap of timers. Nothing happens until the owner advances
 * the clock, and then timers fire in (time, insertion) order, so a run is a pure function of its
 * inputs and seed. Promise callbacks queued by a timer run before the next timer fires.
 */
import type { Clock, Timer } from '../util/clock.js';

interface Entry {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
}

export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private heap: Entry[] = [];
  /** Timers fired so far. */
  fired = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  get pending(): number {
    return this.heap.length;
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const entry: Entry = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn };
    this.push(entry);
    return {
      cancel: () => {
        entry.fn = undefined;
      },
    };
  }

  /**
   * Fire timers due up to now + ms, in order, letting promise callbacks settle after each; then
   * set the time to now + ms.
   */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const next = this.heap[0];
      if (!next || next.at > end) break;
      // Fire every timer due at this instant, then let the promise chains they started finish.
      const at = next.at;
      this.time = at;
      let ran = false;
      while (this.heap[0] && (this.heap[0] as Entry).at === at) {
        const entry = this.heap[0] as Entry;
        this.pop();
        const fn = entry.fn;
        if (fn) {
          this.fired++;
          ran = true;
          fn();
        }
      }
      if (ran) await settle();
    }
    this.time = end;
  }

  /** Advance until `done()` is true or `maxMs` of virtual time passed; returns whether done. */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 10): Promise<boolean> {
    const end = this.time + maxMs;
    while (!done() && this.time < end) await this.advance(Math.min(stepMs, end - this.time));
    return done();
  }

  /** Run a promise to completion on virtual time (bounded by maxMs). */
  async run<T>(promise: Promise<T>, maxMs = 10 * 60_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    await this.runUntil(() => settled, maxMs);
    if (!settled) throw new Error(`still pending after ${maxMs} ms of virtual time`);
    return tracked;
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent] as Entry)) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r] as Entry, heap[l] as Entry) ? r : l;
      if (!before(heap[child] as Entry, last)) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Let every queued promise callback run: setImmediate fires only once the microtask queue is empty. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
