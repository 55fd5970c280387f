import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AnnounceKeepAlive,
  KEEPALIVE_FOR_MS,
  KEEPALIVE_TARGETS,
  keepAliveWanted,
} from '../../src/node/announce-keepalive.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { type Address, makeAddress } from '../../src/transport/address.js';

const at = (n: number): Address => makeAddress(`198.51.100.${n}`, 6881);

describe('announce keep-alive', () => {
  it('pings the storing nodes each interval while active, at most KEEPALIVE_TARGETS, until the announce expires', async () => {
    const clock = new VirtualClock();
    const pinged: string[] = [];
    let active = false;
    const ka = new AnnounceKeepAlive(
      clock,
      1_000,
      async (a) => void pinged.push(a.host),
      () => active,
    );
    ka.remember(Array.from({ length: KEEPALIVE_TARGETS + 4 }, (_, i) => at(i + 1)));
    assert.equal(ka.size, KEEPALIVE_TARGETS);
    await clock.advance(1_000);
    assert.equal(pinged.length, 0, 'inactive (no restricting NAT): no pings');
    active = true;
    await clock.advance(1_000);
    assert.equal(pinged.length, KEEPALIVE_TARGETS);
    assert.ok(!pinged.includes(at(1).host), 'the oldest targets went first');
    await clock.advance(KEEPALIVE_FOR_MS);
    const before = pinged.length;
    await clock.advance(5_000);
    assert.equal(pinged.length, before, 'nothing after the announce expired');
    assert.equal(ka.size, 0);
    assert.equal(clock.pending, 0, 'the timer stopped');
    ka.close();
  });

  it('auto: only behind a NAT that filters', () => {
    assert.equal(keepAliveWanted('auto', undefined), false);
    assert.equal(keepAliveWanted('auto', { kind: 'full-cone' }), false);
    assert.equal(keepAliveWanted('auto', { kind: 'port-restricted' }), true);
    assert.equal(keepAliveWanted('auto', { kind: 'symmetric' }), true);
    assert.equal(keepAliveWanted(true, undefined), true);
    assert.equal(keepAliveWanted(false, { kind: 'symmetric' }), false);
  });
});
