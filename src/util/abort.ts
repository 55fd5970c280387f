/**
 * Deadlines on the injected clock. (AbortSignal.timeout uses wall-clock timers, which the
 * simulator cannot advance.)
 */
import type { Clock } from './clock.js';
import { TimeoutError } from './errors.js';

export interface Deadline {
  readonly signal: AbortSignal;
  /** Stop the timer and detach from the parent signals. */
  dispose(): void;
}

/** A signal that aborts when any parent aborts or after `ms` on the clock (with a TimeoutError). */
export function deadline(
  clock: Clock,
  ms: number | undefined,
  what: string,
  ...parents: (AbortSignal | undefined)[]
): Deadline {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    listeners.push([parent, onAbort]);
  }
  const timer =
    ms !== undefined && ms > 0 && !controller.signal.aborted
      ? clock.setTimeout(() => controller.abort(new TimeoutError(`${what} took longer than ${ms} ms`)), ms)
      : undefined;
  return {
    signal: controller.signal,
    dispose() {
      timer?.cancel();
      for (const [parent, onAbort] of listeners) parent.removeEventListener('abort', onAbort);
    },
  };
}
