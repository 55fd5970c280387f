import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOKEN_ROTATE_MS, TokenManager } from '../../src/protocols/mainline/tokens.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/util/random.js';

const infoHash = new Uint8Array(20).fill(7);

describe('write tokens', () => {
  it('accepts a token for 5-10 minutes: current and previous secret', async () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(1));
    const token = tokens.issue('1.2.3.4', infoHash);
    assert.equal(token.length, 8);
    assert.ok(tokens.verify('1.2.3.4', infoHash, token));
    await clock.advance(TOKEN_ROTATE_MS); // one rotation: token is under the previous secret
    assert.ok(tokens.verify('1.2.3.4', infoHash, token));
    assert.equal(tokens.rotations, 1);
    await clock.advance(TOKEN_ROTATE_MS); // two rotations: expired
    assert.equal(tokens.verify('1.2.3.4', infoHash, token), false);
  });

  it('expires both secrets after a long idle gap', async () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(2));
    const token = tokens.issue('1.2.3.4', infoHash);
    await clock.advance(TOKEN_ROTATE_MS * 3 + 1);
    assert.equal(tokens.verify('1.2.3.4', infoHash, token), false);
  });

  it('binds the token to the IP and the infohash', () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(3));
    const token = tokens.issue('1.2.3.4', infoHash);
    assert.equal(tokens.verify('1.2.3.5', infoHash, token), false);
    assert.equal(tokens.verify('1.2.3.4', new Uint8Array(20), token), false);
    assert.ok(tokens.verify('::1', infoHash, tokens.issue('::1', infoHash)));
  });

  it('rejects forged tokens of every length', () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(4);
    const tokens = new TokenManager(clock, random);
    for (let len = 0; len < 24; len++)
      assert.equal(tokens.verify('1.2.3.4', infoHash, random.bytes(len)), false);
    const real = tokens.issue('1.2.3.4', infoHash);
    const flipped = real.slice();
    flipped[0]! ^= 1;
    assert.equal(tokens.verify('1.2.3.4', infoHash, flipped), false);
  });

  it('a different node issues different tokens', () => {
    const clock = new VirtualClock();
    const a = new TokenManager(clock, new SeededRandom(5));
    const b = new TokenManager(clock, new SeededRandom(6));
    assert.equal(b.verify('1.2.3.4', infoHash, a.issue('1.2.3.4', infoHash)), false);
  });
});
