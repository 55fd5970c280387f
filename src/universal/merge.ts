/**
 * Many networks' answers as one stream: each source runs at once, results are yielded as they
 * arrive, a failing network becomes a `failure` event (the others go on), and stopping the
 * iteration aborts every source.
 */
import { AsyncQueue } from '../util/async-queue.js';
import type { NetworkName } from './types.js';

export interface NetworkFailure {
  kind: 'failure';
  network: NetworkName;
  error: Error;
}

export type Source<T> = { network: NetworkName; run: (signal: AbortSignal) => AsyncIterable<T> };

/** At most this many results are buffered ahead of a slow consumer; sources then wait. */
export const MERGE_BUFFER_RESULTS = 1_024;

export async function* mergeSources<T>(
  sources: Source<T>[],
  signal: AbortSignal | undefined,
): AsyncGenerator<T | NetworkFailure> {
  const queue = new AsyncQueue<T | NetworkFailure>();
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  let pending = sources.length;
  let buffered = 0;
  let drained: (() => void) | undefined;
  const room = (): Promise<void> =>
    buffered < MERGE_BUFFER_RESULTS ? Promise.resolve() : new Promise((r) => (drained = r));
  for (const source of sources) {
    void (async () => {
      try {
        for await (const item of source.run(stop.signal)) {
          if (stop.signal.aborted) break;
          await room();
          buffered++;
          queue.push(item);
        }
      } catch (err) {
        if (!stop.signal.aborted || signal?.aborted)
          queue.push({ kind: 'failure', network: source.network, error: asError(err) });
      } finally {
        if (--pending === 0) queue.end();
      }
    })();
  }
  if (sources.length === 0) queue.end();
  try {
    for await (const item of queue) {
      buffered--;
      if (drained) {
        const d = drained;
        drained = undefined;
        d();
      }
      yield item;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
    drained?.();
  }
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
