/**
 * How the pool reaches a peer: a direct dial first, then (for a NATed peer) a TCP simultaneous
 * open coordinated through a relay, then a splice through the relay. Each stage starts when the
 * one before it failed in a way the next can help with (the peer was unreachable), or when the one
 * before it has had its head start (a NAT drops SYNs silently, so a dial that hangs is as telling
 * as one that fails). The first connection wins.
 */
import type { Clock, Timer } from '../../util/clock.js';
import { AbortError, KadmiumError } from '../../util/errors.js';
import type { Connection } from './types.js';

export interface DialStage {
  start(): Promise<Connection>;
  /** Head start of the stage before this one (ignored for the first stage). */
  afterMs: number;
  /** Whether this stage's failure should start the next stage at once; default: always. */
  fallBackOn?(error: unknown): boolean;
}

/**
 * Race the stages as described above. A failure that does not fall back stops later stages from
 * starting (a peer that proved the wrong key is no better through a relay), though stages already
 * running go on. When every started stage fails, the first stage's error stands (the direct dial
 * says most about the address the caller gave).
 */
export function raceStages(stages: readonly DialStage[], clock: Clock): Promise<Connection> {
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    let next = 0;
    let running = 0;
    let stopped = false;
    let timer: Timer | undefined;
    let firstError: unknown;
    const finish = (): void => {
      settled = true;
      timer?.cancel();
    };
    const maybeFail = (): void => {
      if (settled || running > 0 || (!stopped && next < stages.length)) return;
      finish();
      reject(firstError);
    };
    const startNext = (): void => {
      timer?.cancel();
      timer = undefined;
      if (settled || stopped || next >= stages.length) return;
      const index = next++;
      const stage = stages[index] as DialStage;
      const following = stages[next];
      if (following) timer = clock.setTimeout(startNext, following.afterMs);
      running++;
      let attempt: Promise<Connection>;
      try {
        attempt = stage.start();
      } catch (error) {
        attempt = Promise.reject(error);
      }
      attempt.then(
        (conn) => {
          running--;
          if (settled) return;
          finish();
          resolve(conn);
        },
        (error: unknown) => {
          running--;
          if (index === 0 || firstError === undefined) firstError = error;
          if (stage.fallBackOn && !stage.fallBackOn(error)) {
            stopped = true;
            timer?.cancel();
          } else if (index === next - 1) startNext();
          maybeFail();
        },
      );
    };
    if (stages.length === 0) {
      reject(new KadmiumError('NO_DIAL_STAGES', 'a dial needs at least one stage; pass the direct dial'));
      return;
    }
    startNext();
  });
}

export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(new AbortError('connect was aborted; the dial continues for other callers'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
