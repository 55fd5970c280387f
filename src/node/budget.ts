/**
 * Resource budgets (issue 15 item 6): memory and event-loop lag limits from the configuration.
 * The owner (the daemon, each statistics tick) reports what it measured; the governor turns that
 * into a pressure level with hysteresis, so a node hovering at its budget does not flap:
 *
 * - level 1 when a measure reaches its budget, left only when every measure is back under
 *   BUDGET_RELEASE of its budget;
 * - level 2 when a measure reaches BUDGET_SEVERE times its budget, left (to 1) under the budget.
 *
 * What shrinks at each level (`pressureChanges`, applied by Dht and OverlayNode
 * `setResourcePressure`) is only what a node can do without: lookup parallelism, the wide last
 * round of a lookup, copies cached along lookup paths, the per-contact RTT history; never the
 * routing table or stored data.
 */
import { MAX_RTT_ENTRIES, type RttTracker } from '../kademlia/rtt.js';
import { InvalidArgumentError } from '../util/errors.js';

/** RTT history kept under pressure level 1, addresses. */
export const RTT_ENTRIES_UNDER_PRESSURE = 512;
/** RTT history kept under pressure level 2, addresses. */
export const RTT_ENTRIES_SEVERE = 64;

/** Under pressure, every measure must fall below this share of its budget to leave level 1. */
export const BUDGET_RELEASE = 0.8;
/** This many times the budget is level 2. */
export const BUDGET_SEVERE = 1.25;

export type PressureLevel = 0 | 1 | 2;

export interface ResourceBudget {
  /** Heap in use, bytes; undefined or 0: no memory budget. */
  memoryBytes?: number | undefined;
  /** Event-loop delay (p99 over the tick), ms; undefined or 0: no lag budget. */
  eventLoopLagMs?: number | undefined;
}

export interface ResourceSample {
  heapUsedBytes: number;
  eventLoopLagMs: number;
}

export class BudgetGovernor {
  private levelNow: PressureLevel = 0;

  constructor(private readonly budget: ResourceBudget) {
    for (const [name, v] of Object.entries(budget))
      if (v !== undefined && !(Number.isFinite(v) && v >= 0))
        throw new InvalidArgumentError(`budget ${name} must be a number >= 0 (0 turns it off), got ${v}`);
  }

  get level(): PressureLevel {
    return this.levelNow;
  }

  /** True when any budget is set. */
  get active(): boolean {
    return (this.budget.memoryBytes ?? 0) > 0 || (this.budget.eventLoopLagMs ?? 0) > 0;
  }

  /** Feed one sample; returns the level, and whether it changed. */
  observe(sample: ResourceSample): { level: PressureLevel; changed: boolean; reason: string } {
    const ratios: [string, number][] = [];
    const mem = this.budget.memoryBytes ?? 0;
    const lag = this.budget.eventLoopLagMs ?? 0;
    if (mem > 0)
      ratios.push([`heap ${mib(sample.heapUsedBytes)} of ${mib(mem)}`, sample.heapUsedBytes / mem]);
    if (lag > 0)
      ratios.push([
        `event-loop lag ${sample.eventLoopLagMs.toFixed(0)} ms of ${lag} ms`,
        sample.eventLoopLagMs / lag,
      ]);
    let worst = 0;
    let reason = 'within budget';
    for (const [what, r] of ratios) {
      if (r > worst) {
        worst = r;
        reason = what;
      }
    }
    const before = this.levelNow;
    let next: PressureLevel;
    if (worst >= BUDGET_SEVERE) next = 2;
    else if (worst >= 1) next = before === 2 ? 2 : 1;
    // Between BUDGET_RELEASE and the budget: the hysteresis band (level 2 steps down to 1).
    else if (worst >= BUDGET_RELEASE) next = before === 0 ? 0 : 1;
    else next = 0;
    this.levelNow = next;
    return { level: next, changed: next !== before, reason };
  }
}

/** Lookup parallelism at a level: alpha, one less at 1, a single query at 2. */
export function alphaUnder(level: PressureLevel, alpha: number): number {
  return level === 0 ? alpha : level === 1 ? Math.max(1, alpha - 1) : 1;
}

/** What budgets read of a node's latency routing (node/latency.ts `LatencyRouting`). */
export interface PressureRouting {
  readonly rtt: RttTracker;
  /** `converged-width` (the wide last round) and `path-cache` are what pressure turns off. */
  has(technique: 'converged-width' | 'path-cache'): boolean;
}

export function pressureChanges(
  routing: PressureRouting,
  alpha: number,
  from: PressureLevel,
  to: PressureLevel,
): string[] {
  const entries = to === 0 ? MAX_RTT_ENTRIES : to === 1 ? RTT_ENTRIES_UNDER_PRESSURE : RTT_ENTRIES_SEVERE;
  const before = routing.rtt.size;
  routing.rtt.limit(entries);
  const changes = [
    `lookup parallelism ${alphaUnder(from, alpha)} -> ${alphaUnder(to, alpha)}`,
    `RTT history capped at ${entries} addresses (${before} -> ${routing.rtt.size} held)`,
  ];
  const onOff = (level: PressureLevel): string => (level === 0 ? 'on' : 'off');
  if ((from === 0) !== (to === 0)) {
    if (routing.has('converged-width')) changes.push(`wide last round ${onOff(from)} -> ${onOff(to)}`);
    if (routing.has('path-cache')) changes.push(`path caching ${onOff(from)} -> ${onOff(to)}`);
  }
  return changes;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}
