/**
 * Dialers waiting for a peer's connection to reach the pool (tcp.ts): a dial refused as the
 * losing duplicate waits here for the winner, at most a timeout. Bounded by the dials in
 * progress, which the pool caps.
 */
import type { Clock } from '../../util/clock.js';

export class PoolWaiters<C> {
  private readonly waiters = new Map<string, Set<(conn: C | undefined) => void>>();

  constructor(private readonly clock: Clock) {}

  /** Resolves with the connection `arrive(key, …)` brings, or undefined after timeoutMs. */
  wait(key: string, timeoutMs: number): Promise<C | undefined> {
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const wake = (conn: C | undefined): void => {
        timer.cancel();
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve(conn);
      };
      const timer = this.clock.setTimeout(() => wake(undefined), timeoutMs);
      waiters.add(wake);
    });
  }

  arrive(key: string, conn: C): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const wake of [...set]) wake(conn);
  }

  /** Forget every waiter (the transport closes; their timers still resolve them). */
  clear(): void {
    this.waiters.clear();
  }
}
