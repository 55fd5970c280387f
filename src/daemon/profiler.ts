/**
 * On-demand profiles of the running daemon: a CPU profile over a few seconds (Chrome DevTools'
 * .cpuprofile format) and a V8 heap snapshot (.heapsnapshot). One capture at a time: both stall
 * the process (a heap snapshot stops the world while it walks the heap), so they are refused
 * while one runs rather than queued.
 */
import { Session } from 'node:inspector/promises';
import { getHeapSnapshot } from 'node:v8';
import { type Clock, sleep } from '../util/clock.js';
import { InvalidArgumentError, KadmiumError } from '../util/errors.js';

export const DEFAULT_CPU_PROFILE_S = 5;
/** A longer profile is a different tool (run the daemon under --cpu-prof). */
export const MAX_CPU_PROFILE_S = 60;
/** Sampling interval of the CPU profiler, microseconds (V8's default is 1000). */
const SAMPLING_INTERVAL_US = 500;

export class ProfilerBusyError extends KadmiumError {
  constructor() {
    super('PROFILER_BUSY', 'a profile is being captured already; retry when it has finished');
  }
}

export class Profiler {
  private busy = false;

  constructor(private readonly clock: Clock) {}

  /** A CPU profile of the next `seconds`; the .cpuprofile JSON text (open it in DevTools). */
  async cpu(seconds = DEFAULT_CPU_PROFILE_S, signal?: AbortSignal): Promise<string> {
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_CPU_PROFILE_S)
      throw new InvalidArgumentError(
        `seconds must be more than 0 and at most ${MAX_CPU_PROFILE_S}, got ${seconds}`,
      );
    return this.exclusive(async () => {
      const session = new Session();
      session.connect();
      try {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
        await session.post('Profiler.start');
        await sleep(this.clock, seconds * 1000, signal).catch(() => undefined);
        const { profile } = await session.post('Profiler.stop');
        return JSON.stringify(profile);
      } finally {
        session.disconnect();
      }
    });
  }

  /** A heap snapshot, as the .heapsnapshot JSON text (open it in DevTools' Memory tab). */
  async heap(): Promise<string> {
    return this.exclusive(async () => {
      const chunks: string[] = [];
      for await (const chunk of getHeapSnapshot()) chunks.push(String(chunk));
      return chunks.join('');
    });
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new ProfilerBusyError();
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }
}
