import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { TOKEN_BYTES, TOKEN_ROTATE_MS, TokenManager } from '../../src/protocols/mainline/tokens.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/util/random.js';

const infoHash = new Uint8Array(20).fill(7);

describe('write tokens', () => {
  it('accepts a token for 5-10 minutes: current and previous secret', async () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(1));
    const token = tokens.issue('peers', '1.2.3.4', infoHash);
    assert.equal(token.length, 8);
    assert.ok(tokens.verify('peers', '1.2.3.4', infoHash, token));
    await clock.advance(TOKEN_ROTATE_MS); // one rotation: token is under the previous secret
    assert.ok(tokens.verify('peers', '1.2.3.4', infoHash, token));
    assert.equal(tokens.rotations, 1);
    await clock.advance(TOKEN_ROTATE_MS); // two rotations: expired
    assert.equal(tokens.verify('peers', '1.2.3.4', infoHash, token), false);
  });

  it('expires both secrets after a long idle gap', async () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(2));
    const token = tokens.issue('peers', '1.2.3.4', infoHash);
    await clock.advance(TOKEN_ROTATE_MS * 3 + 1);
    assert.equal(tokens.verify('peers', '1.2.3.4', infoHash, token), false);
  });

  it('binds the token to the IP and the infohash', () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(3));
    const token = tokens.issue('peers', '1.2.3.4', infoHash);
    assert.equal(tokens.verify('peers', '1.2.3.5', infoHash, token), false);
    assert.equal(tokens.verify('peers', '1.2.3.4', new Uint8Array(20), token), false);
    assert.ok(tokens.verify('peers', '::1', infoHash, tokens.issue('peers', '::1', infoHash)));
  });

  it('rejects forged tokens of every length', () => {
    const clock = new VirtualClock();
    const random = new SeededRandom(4);
    const tokens = new TokenManager(clock, random);
    for (let len = 0; len < 24; len++)
      assert.equal(tokens.verify('peers', '1.2.3.4', infoHash, random.bytes(len)), false);
    const real = tokens.issue('peers', '1.2.3.4', infoHash);
    const flipped = real.slice();
    flipped[0]! ^= 1;
    assert.equal(tokens.verify('peers', '1.2.3.4', infoHash, flipped), false);
  });

  it('keeps the two scopes apart: a get_peers token is no put token for the same key, and back', () => {
    const tokens = new TokenManager(new VirtualClock(), new SeededRandom(8));
    const peers = tokens.issue('peers', '1.2.3.4', infoHash);
    const items = tokens.issue('items', '1.2.3.4', infoHash);
    assert.ok(tokens.verify('peers', '1.2.3.4', infoHash, peers));
    assert.ok(tokens.verify('items', '1.2.3.4', infoHash, items));
    assert.equal(tokens.verify('items', '1.2.3.4', infoHash, peers), false);
    assert.equal(tokens.verify('peers', '1.2.3.4', infoHash, items), false);
    const peers6 = tokens.issue('peers', '2001:db8::1', infoHash);
    assert.equal(tokens.verify('items', '2001:db8::1', infoHash, peers6), false);
  });

  it('is SHA-256(secret || scope byte || IP bytes || key) truncated to 8 bytes, IPv4 and IPv6', () => {
    const clock = new VirtualClock();
    const tokens = new TokenManager(clock, new SeededRandom(7));
    // The manager draws the current secret first from its Random: the same seed gives it here.
    const secret = new SeededRandom(7).bytes(64);
    const sha256 = (...parts: Uint8Array[]) => {
      const h = createHash('sha256');
      for (const p of parts) h.update(p);
      return h.digest();
    };
    const expected = (ip: number[], key: Uint8Array, scope = 0x01) =>
      sha256(secret, Uint8Array.of(scope), Uint8Array.from(ip), key).subarray(0, TOKEN_BYTES);
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert.deepEqual(
      Buffer.from(tokens.issue('peers', '1.2.3.4', infoHash)),
      expected([1, 2, 3, 4], infoHash),
    );
    assert.deepEqual(Buffer.from(tokens.issue('peers', '2001:db8::1', infoHash)), expected(v6, infoHash));
    assert.deepEqual(
      Buffer.from(tokens.issue('items', '1.2.3.4', infoHash)),
      expected([1, 2, 3, 4], infoHash, 0x02),
    );
    // A key of another length stands in by its SHA-256's first 20 bytes, so every message has one shape.
    const short = new Uint8Array(5).fill(3);
    const long = new Uint8Array(64).fill(4);
    for (const key of [short, long]) {
      const stand = sha256(key).subarray(0, 20);
      assert.deepEqual(Buffer.from(tokens.issue('peers', '1.2.3.4', key)), expected([1, 2, 3, 4], stand));
      assert.ok(tokens.verify('peers', '2001:db8::1', key, tokens.issue('peers', '2001:db8::1', key)));
    }
  });

  it('a different node issues different tokens', () => {
    const clock = new VirtualClock();
    const a = new TokenManager(clock, new SeededRandom(5));
    const b = new TokenManager(clock, new SeededRandom(6));
    assert.equal(b.verify('peers', '1.2.3.4', infoHash, a.issue('peers', '1.2.3.4', infoHash)), false);
  });
});
