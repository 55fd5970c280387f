/**
 * Time, injected. Protocol code never calls Date.now or setTimeout directly: it asks a Clock,
 * so the same code runs on wall time and on the simulator's virtual time.
 */
export interface Timer {
  /** Cancel the timer; cancelling twice or after it fired is harmless. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on this clock's time line (epoch ms for the system clock). */
  now(): number;
  /** Run fn once after delayMs. */
  setTimeout(fn: () => void, delayMs: number): Timer;
}

/** Wall-clock time with Node timers. Timers are unref'd so a node never keeps the process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, delayMs) {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** Run fn every periodMs until the returned timer is cancelled. */
export function every(clock: Clock, periodMs: number, fn: () => void): Timer {
  let current: Timer | undefined;
  let cancelled = false;
  const tick = (): void => {
    if (cancelled) return;
    current = clock.setTimeout(tick, periodMs);
    fn();
  };
  current = clock.setTimeout(tick, periodMs);
  return {
    cancel() {
      cancelled = true;
      current?.cancel();
    },
  };
}

/** Resolve after delayMs on the given clock, or reject with the signal's reason when aborted. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
