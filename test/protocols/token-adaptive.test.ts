// Issue 14: the token lifetime adapts to load and attacks within named bounds, and no pressure
// lets a forged, expired, replayed or other-IP token through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenNode } from './token-node.js';
import { PORTS_PER_TOKEN } from '../../src/protocols/mainline/token-replay.js';
import {
  TOKEN_PRESSURE_FULL_QPS,
  TOKEN_ROTATE_MIN_MS,
  TOKEN_ROTATE_MS,
  TokenManager,
  tokenPressure,
} from '../../src/protocols/mainline/tokens.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/util/random.js';
import type { BDict } from '../../src/wire/bencode.js';

const key = new Uint8Array(20).fill(7);
const host = '1.2.3.4';

describe('adaptive token lifetime', () => {
  it('lives 5-10 minutes without pressure and 1-2 minutes under full pressure', async () => {
    const clock = new VirtualClock();
    const calm = new TokenManager(clock, new SeededRandom(1));
    const t0 = calm.issue('peers', host, key);
    await clock.advance(2 * TOKEN_ROTATE_MS - 1);
    assert.equal(calm.verify('peers', host, key, t0), true, 'alive just under two periods');
    await clock.advance(1);
    assert.equal(calm.verify('peers', host, key, t0), false, 'expired at two periods');

    const pressed = new TokenManager(clock, new SeededRandom(2));
    pressed.setPressure(1);
    assert.equal(pressed.periodMs, TOKEN_ROTATE_MIN_MS);
    const t1 = pressed.issue('peers', host, key);
    await clock.advance(TOKEN_ROTATE_MIN_MS + TOKEN_ROTATE_MIN_MS / 2);
    assert.equal(pressed.verify('peers', host, key, t1), true, 'alive after 1.5 short periods');
    await clock.advance(TOKEN_ROTATE_MIN_MS / 2);
    assert.equal(pressed.verify('peers', host, key, t1), false, 'expired after two short periods');
  });

  it('a rise in pressure never kills a token sooner than one short period after it was issued', async () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(3));
    await clock.advance(TOKEN_ROTATE_MS - 1_000); // the secret is old, about to rotate anyway
    const token = tokens.issue('items', host, key);
    tokens.setPressure(1);
    await clock.advance(TOKEN_ROTATE_MIN_MS);
    assert.equal(tokens.verify('items', host, key, token), true);
    await clock.advance(TOKEN_ROTATE_MIN_MS);
    assert.equal(tokens.verify('items', host, key, token), false, 'gone two short periods on');
    // Pressure off: the period is the long one again.
    tokens.setPressure(0);
    assert.equal(tokens.periodMs, TOKEN_ROTATE_MS);
  });

  it('pressure is clamped to its bounds and computed from load and anomaly flags', () => {
    const tokens = new TokenManager(new VirtualClock(), new SeededRandom(4));
    tokens.setPressure(7);
    assert.equal(tokens.periodMs, TOKEN_ROTATE_MIN_MS);
    tokens.setPressure(-1);
    assert.equal(tokens.periodMs, TOKEN_ROTATE_MS);
    tokens.setPressure(Number.NaN);
    assert.equal(tokens.periodMs, TOKEN_ROTATE_MS);
    tokens.setPressure(0.5);
    assert.equal(tokens.periodMs, (TOKEN_ROTATE_MS + TOKEN_ROTATE_MIN_MS) / 2);
    assert.equal(tokenPressure({ queriesInPerSec: 0, attack: false }), 0);
    assert.equal(tokenPressure({ queriesInPerSec: TOKEN_PRESSURE_FULL_QPS / 2, attack: false }), 0.5);
    assert.equal(tokenPressure({ queriesInPerSec: 1e9, attack: false }), 1);
    assert.equal(tokenPressure({ queriesInPerSec: 0, attack: true }), 1);
    assert.equal(tokenPressure({ queriesInPerSec: Number.NaN, attack: false }), 0);
  });

  it('under full pressure a node accepts 0 forged, expired, replayed and other-IP tokens', async () => {
    const { dht, clock, client, ask } = await tokenNode(14);
    const id = new Uint8Array(20).fill(0x42);
    const infoHash = new Uint8Array(20).fill(0x17);
    try {
      dht.setTokenPressure(1);
      assert.equal(dht.tokenPeriodMs, TOKEN_ROTATE_MIN_MS);
      const other = client('3.0.0.2');
      const token = ((await ask('get_peers', { id, info_hash: infoHash })) as { r: BDict }).r
        .token as Uint8Array;
      const announce = (via: typeof ask, port: number, t: Uint8Array) =>
        via('announce_peer', { id, info_hash: infoHash, port, token: t }).then((r) => r.y);
      const forged = token.slice();
      forged[0] = (forged[0] as number) ^ 1;
      assert.equal(await announce(ask, 5000, forged), 'e', 'forged');
      assert.equal(await announce(other, 5000, token), 'e', 'other IP');
      let accepted = 0;
      for (let p = 0; p < PORTS_PER_TOKEN + 4; p++)
        if ((await announce(ask, 6000 + p, token)) === 'r') accepted++;
      assert.equal(accepted, PORTS_PER_TOKEN, 'replays beyond the ports a token may announce');
      const late = ((await ask('get_peers', { id, info_hash: infoHash })) as { r: BDict }).r
        .token as Uint8Array;
      await clock.advance(2 * TOKEN_ROTATE_MIN_MS);
      assert.equal(await announce(ask, 7000, late), 'e', 'expired after two short periods');
      // The check that can fail: the same wait without pressure leaves a token valid.
      dht.setTokenPressure(0);
      await clock.advance(2 * TOKEN_ROTATE_MIN_MS); // let the short schedule's last rotation pass
      const calm = ((await ask('get_peers', { id, info_hash: infoHash })) as { r: BDict }).r
        .token as Uint8Array;
      await clock.advance(2 * TOKEN_ROTATE_MIN_MS);
      assert.equal(await announce(ask, 7001, calm), 'r', 'without pressure it still lives');
    } finally {
      await dht.close();
    }
  });
});
