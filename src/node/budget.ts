/**
 * Resource budgets (issue 15 item 6): memory and event-loop lag limits from the configuration.
 * The owner (the daemon, each statistics tick) reports what it measured; the governor turns that
 * into a pressure level with hysteresis, so a node hovering at its budget does not flap:
 *
 * - level 1 when a measure reaches its budget, left only when every measure is back under
 *   BUDGET_RELEASE of its budget;
 * - level 2 when a measure reaches BUDGET_SEVERE times its budget, left (to 1) under the budget.
 *
 * What shrinks at each level is the node's business (Dht.setResourcePressure): only what a node
 * can do without (RTT history, lookup parallelism), never the routing table or stored data.
 */
import { InvalidArgumentError } from '../util/errors.js';

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

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}
