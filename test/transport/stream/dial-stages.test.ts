// The pool's dial order on a virtual clock: direct, then the simultaneous open after its head
// start, then the splice; the first connection wins, an unhelpful failure stops the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../../src/sim/virtual-clock.js';
import { raceStages, type DialStage } from '../../../src/transport/stream/dial-stages.js';
import type { Connection } from '../../../src/transport/stream/types.js';

const fake = (name: string) => ({ name }) as unknown as Connection;

/** A stage whose outcome the test decides; records when it started. */
function controlled(afterMs: number, fallBackOn?: (e: unknown) => boolean) {
  const s = {
    startedAt: undefined as number | undefined,
    succeed: (_c: Connection) => {},
    fail: (_e: unknown) => {},
  };
  return {
    s,
    stage(clock: VirtualClock): DialStage {
      return {
        afterMs,
        ...(fallBackOn ? { fallBackOn } : {}),
        start: () =>
          new Promise<Connection>((resolve, reject) => {
            s.startedAt = clock.now();
            s.succeed = resolve;
            s.fail = reject;
          }),
      };
    },
  };
}

describe('dial stages', () => {
  it('starts each stage after its head start; the first connection wins and stops the rest', async () => {
    const clock = new VirtualClock();
    const [d, p, r] = [controlled(0), controlled(250), controlled(1_000)];
    const race = raceStages([d.stage(clock), p.stage(clock), r.stage(clock)], clock);
    await clock.advance(249);
    assert.equal(p.s.startedAt, undefined);
    await clock.advance(1);
    assert.equal(p.s.startedAt, 250, 'the simultaneous open joins after 250 ms');
    p.s.succeed(fake('punched'));
    assert.equal(((await race) as unknown as { name: string }).name, 'punched');
    await clock.advance(5_000);
    assert.equal(r.s.startedAt, undefined, 'no splice once a direct path won');
  });

  it('a failure that falls back starts the next stage at once; all failed: the first error stands', async () => {
    const clock = new VirtualClock();
    const [d, p, r] = [controlled(0, () => true), controlled(250), controlled(1_000)];
    const race = raceStages([d.stage(clock), p.stage(clock), r.stage(clock)], clock);
    const outcome = race.then(
      () => 'connected',
      (e: Error) => e.message,
    );
    d.s.fail(new Error('direct refused'));
    await clock.advance(0);
    assert.equal(p.s.startedAt, 0, 'the simultaneous open starts when the direct dial fails');
    p.s.fail(new Error('symmetric NAT'));
    await clock.advance(0);
    assert.equal(r.s.startedAt, 0, 'the splice starts when the simultaneous open fails');
    r.s.fail(new Error('relay down'));
    assert.equal(await outcome, 'direct refused');
  });

  it('a failure that does not fall back starts nothing more', async () => {
    const clock = new VirtualClock();
    const [d, p] = [controlled(0, () => false), controlled(250)];
    const race = raceStages([d.stage(clock), p.stage(clock)], clock);
    const outcome = race.then(
      () => 'connected',
      (e: Error) => e.message,
    );
    d.s.fail(new Error('wrong key'));
    await clock.advance(1_000);
    assert.equal(p.s.startedAt, undefined);
    assert.equal(await outcome, 'wrong key');
  });
});
