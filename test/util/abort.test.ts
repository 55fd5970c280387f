import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadline } from '../../src/util/abort.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { TimeoutError } from '../../src/util/errors.js';

test('a deadline signal takes hundreds of listeners (one per in-flight query) without a leak warning', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', onWarning);
  try {
    const d = deadline(new VirtualClock(), 1000, 'lookup');
    const listeners = Array.from({ length: 400 }, () => () => {});
    for (const l of listeners) d.signal.addEventListener('abort', l);
    // Node emits process warnings on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    for (const l of listeners) d.signal.removeEventListener('abort', l);
    d.dispose();
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    );
  } finally {
    process.off('warning', onWarning);
  }
});

test('a deadline aborts with a TimeoutError when its time runs out, and with the parent reason first', async () => {
  const clock = new VirtualClock();
  const d = deadline(clock, 500, 'get');
  await clock.advance(499);
  assert.equal(d.signal.aborted, false);
  await clock.advance(1);
  assert.ok(d.signal.reason instanceof TimeoutError);
  assert.match((d.signal.reason as Error).message, /get took longer than 500 ms/);

  const parent = new AbortController();
  const child = deadline(clock, 500, 'get', parent.signal);
  parent.abort(new Error('closed'));
  assert.equal((child.signal.reason as Error).message, 'closed');
  child.dispose();
});
