/**
 * Deadlines on the injected clock. (AbortSignal.timeout uses wall-clock timers, which the
 * simulator cannot advance.)
 */
import { setMaxListeners } from 'node:events';
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
  // Every query of the operation listens on this signal. A lookup over 8 paths among fake
  // contacts has hundreds waiting out their timeouts at once (the RPC's transaction table bounds
  // them), which is not a leak.
  setMaxListeners(0, controller.signal);
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
