/**
 * Churn: nodes leave when their session ends and a fresh node (new id, new address) takes the
 * slot. Session lengths are Pareto (heavy-tailed: most sessions are short, a few last for days);
 * nodes already online at time 0 start from the equilibrium residual, so departures run at the
 * steady rate from the first minute. The mean session follows from the requested churn rate:
 * replacing `fraction` of the nodes every `periodMs` means a mean session of periodMs/fraction.
 */
import type { Random } from '../util/random.js';
import { pareto, paretoResidual } from './distributions.js';

export interface ChurnOptions {
  /** Fraction of the nodes replaced per period (0.1 = 10%). */
  fraction: number;
  /** The period, ms (default 10 minutes). */
  periodMs?: number;
  /** Pareto tail index, > 1 (default 1.5). */
  alpha?: number;
  /** Time a departed slot stays empty before its replacement joins, ms (default 0). */
  offlineMs?: number;
}

export interface ChurnEvent {
  at: number;
  slot: number;
  kind: 'leave' | 'join';
}

export interface SessionModel {
  /** Remaining session of a node online at time 0. */
  initial(random: Random): number;
  /** Full session of a node that just joined. */
  fresh(random: Random): number;
  meanMs: number;
}

export function sessionModel(options: ChurnOptions): SessionModel {
  const periodMs = options.periodMs ?? 10 * 60_000;
  const alpha = options.alpha ?? 1.5;
  if (!(options.fraction > 0)) throw new RangeError(`churn fraction must be > 0, got ${options.fraction}`);
  if (!(alpha > 1)) throw new RangeError(`Pareto alpha must be > 1 for a finite mean, got ${alpha}`);
  const meanMs = periodMs / options.fraction;
  const xm = (meanMs * (alpha - 1)) / alpha;
  return {
    meanMs,
    initial: (random) => paretoResidual(random, xm, alpha),
    fresh: (random) => pareto(random, xm, alpha),
  };
}

/**
 * Every leave and join in [0, durationMs) for `slots` slots, in time order (ties by slot, leave
 * before join). A pure function of its arguments.
 */
export function churnSchedule(
  random: Random,
  slots: number,
  durationMs: number,
  options: ChurnOptions,
): ChurnEvent[] {
  const model = sessionModel(options);
  const offline = options.offlineMs ?? 0;
  const events: ChurnEvent[] = [];
  for (let slot = 0; slot < slots; slot++) {
    let t = model.initial(random);
    while (t < durationMs) {
      events.push({ at: t, slot, kind: 'leave' });
      const back = t + offline;
      if (back >= durationMs) break;
      events.push({ at: back, slot, kind: 'join' });
      t = back + model.fresh(random);
    }
  }
  events.sort((a, b) => a.at - b.at || a.slot - b.slot || (a.kind === 'leave' ? -1 : 1));
  return events;
}
