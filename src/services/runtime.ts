/**
 * The process's own health as the dashboard and /metrics show it: event-loop delay (how late
 * timers and I/O callbacks run: a blocked loop delays every reply the node sends) and garbage
 * collection pauses (the loop stops for each). Node measures both; nothing here runs on a timer.
 */
import { type IntervalHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** Event-loop delay sampling resolution, ms (Node's default is 10). */
const LOOP_RESOLUTION_MS = 10;
/** GC pauses remembered for the "recent" list. */
const MAX_RECENT_GC = 32;

const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

export interface RuntimeSnapshot {
  /** Since start (or the last reset), ms. */
  eventLoopDelayMs: { mean: number; p50: number; p99: number; max: number };
  gc: {
    count: number;
    totalPauseMs: number;
    maxPauseMs: number;
    /** Pause count and total ms per kind (minor = scavenge, major = mark-sweep-compact). */
    byKind: Record<string, { count: number; pauseMs: number }>;
    recent: { kind: string; pauseMs: number }[];
  };
}

export class RuntimeMonitor {
  private loop: IntervalHistogram | undefined;
  private observer: PerformanceObserver | undefined;
  private gc = emptyGc();

  start(): void {
    if (this.loop) return;
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as { detail?: { kind?: number } }).detail;
        const kind = GC_KINDS[detail?.kind ?? 0] ?? 'other';
        const g = this.gc;
        g.count++;
        g.totalPauseMs += entry.duration;
        g.maxPauseMs = Math.max(g.maxPauseMs, entry.duration);
        const k = (g.byKind[kind] ??= { count: 0, pauseMs: 0 });
        k.count++;
        k.pauseMs += entry.duration;
        g.recent.push({ kind, pauseMs: entry.duration });
        if (g.recent.length > MAX_RECENT_GC) g.recent.shift();
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.loop?.disable();
    this.loop = undefined;
    this.observer?.disconnect();
    this.observer = undefined;
  }

  snapshot(): RuntimeSnapshot {
    const h = this.loop;
    const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
    return {
      eventLoopDelayMs: h
        ? { mean: ms(h.mean), p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }
        : { mean: 0, p50: 0, p99: 0, max: 0 },
      gc: structuredClone(this.gc),
    };
  }
}

function emptyGc(): RuntimeSnapshot['gc'] {
  return { count: 0, totalPauseMs: 0, maxPauseMs: 0, byKind: {}, recent: [] };
}
