/**
 * The daemon's resource budgets (config `budget.memory_mb`, `budget.lag_ms`): every statistics
 * tick, measure the heap in use and the event-loop delay (p99 since the last tick), feed the
 * node's BudgetGovernor, and when the pressure level changes apply it to the current node (and
 * the overlay node, when the daemon runs one) and log what shrank or grew back. A rotation's new
 * node gets the level in force.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BudgetGovernor } from '../node/budget.js';
import type { Dht } from '../node/dht.js';
import type { OverlayNode } from '../node/overlay-node.js';
import type { Statistics } from '../services/statistics.js';
import type { Logger } from './logger.js';

/** Resolution of the event-loop delay histogram, ms. */
const LAG_RESOLUTION_MS = 20;

export function watchBudget(
  budget: { memoryMb: number; lagMs: number },
  stats: Statistics,
  dht: () => Dht,
  log: Logger,
  overlay: () => OverlayNode | undefined = () => undefined,
): () => void {
  const governor = new BudgetGovernor({
    memoryBytes: budget.memoryMb * 1024 ** 2,
    eventLoopLagMs: budget.lagMs,
  });
  if (!governor.active) return () => {};
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  let applied: Dht | undefined;
  let appliedOverlay: OverlayNode | undefined;
  const onTick = (): void => {
    const sample = {
      heapUsedBytes: process.memoryUsage().heapUsed,
      // Nanoseconds; the histogram's floor is its resolution, so subtract it.
      eventLoopLagMs: Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
    };
    lag.reset();
    const { level, changed, reason } = governor.observe(sample);
    const node = dht();
    const over = overlay();
    if (!changed && node === applied && over === appliedOverlay) return;
    applied = node;
    appliedOverlay = over;
    const report = (what: string, changes: string[]): void => {
      if (changes.length === 0) return;
      const message = `resource pressure ${level} (${reason}): ${what}${changes.join('; ')}`;
      if (level > 0) log.warn(message);
      else log.info(message);
    };
    report('', node.setResourcePressure(level));
    if (over) report('overlay ', over.setResourcePressure(level));
  };
  const off = stats.events.on('tick', onTick);
  return () => {
    off();
    lag.disable();
  };
}
