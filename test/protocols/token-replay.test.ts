// Issue 14: tokens accepted = 0 for every kind of misuse. Forged, expired and other-IP tokens are
// covered by tokens.test.ts; this file covers the replay: one get_peers token announcing many
// ports of one infohash (index poisoning from one reply), and the guard's bound.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenNode } from './token-node.js';
import { TOKEN_ROTATE_MS } from '../../src/protocols/mainline/tokens.js';
import { PORTS_PER_TOKEN, TokenReplayGuard } from '../../src/protocols/mainline/token-replay.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { BDict } from '../../src/wire/bencode.js';

const id = new Uint8Array(20).fill(0x42);
const infoHash = new Uint8Array(20).fill(0x17);
/** Announces one attacker tries with one token. */
const REPLAYS = 50;

const setup = (tokenReplay: boolean) => tokenNode(14, { tokenReplay });

/** Announce REPLAYS ports with one token; how many the node accepted, and the peers it holds. */
async function replayAttack(tokenReplay: boolean): Promise<{ accepted: number; stored: number }> {
  const { dht, ask, clock } = await setup(tokenReplay);
  const gp = await ask('get_peers', { id, info_hash: infoHash });
  assert.equal(gp.y, 'r');
  const token = (gp as { r: BDict }).r.token as Uint8Array;
  let accepted = 0;
  for (let i = 0; i < REPLAYS; i++) {
    const r = await ask('announce_peer', { id, info_hash: infoHash, port: 10_000 + i, token });
    if (r.y === 'r') accepted++;
  }
  // The same port again with the same token: a client repeating itself, still fine.
  const again = await ask('announce_peer', { id, info_hash: infoHash, port: 10_000, token });
  assert.equal(again.y, 'r', 'a repeated announce of the first port is no replay');
  const stored = (await dht.peers.peers(infoHash, 1000, 4, clock.now())).length;
  await dht.close();
  return { accepted, stored };
}

describe('announce token replay protection', () => {
  it('one token announces PORTS_PER_TOKEN ports: replays beyond them accepted = 0', async () => {
    const on = await replayAttack(true);
    assert.equal(on.accepted, PORTS_PER_TOKEN, 'only the first ports');
    assert.equal(on.stored, PORTS_PER_TOKEN);
    // The check that the test can fail: without the guard the same replays all pass.
    const off = await replayAttack(false);
    assert.equal(off.accepted, REPLAYS);
    assert.equal(off.stored, REPLAYS);
  });

  it('after the secret rotates, a fresh token announces another port', async () => {
    const { dht, ask, clock } = await setup(true);
    const fresh = async (): Promise<Uint8Array> =>
      ((await ask('get_peers', { id, info_hash: infoHash })) as { r: BDict }).r.token as Uint8Array;
    let token = await fresh();
    for (let p = 0; p < PORTS_PER_TOKEN; p++)
      assert.equal((await ask('announce_peer', { id, info_hash: infoHash, port: 7000 + p, token })).y, 'r');
    const extra = { id, info_hash: infoHash, port: 7999 };
    assert.equal((await ask('announce_peer', { ...extra, token })).y, 'e', 'one port too many');
    // Tokens are per IP and secret: the same until the secret rotates.
    assert.deepEqual(await fresh(), token);
    await clock.advance(TOKEN_ROTATE_MS);
    token = await fresh();
    assert.equal((await ask('announce_peer', { ...extra, token })).y, 'r', 'the rotated token is fresh');
    await dht.close();
  });

  it('the guard is bounded and forgets a token once it can no longer verify', async () => {
    const clock = new VirtualClock();
    const guard = new TokenReplayGuard(clock, 2 * TOKEN_ROTATE_MS, 3);
    const t = (b: number): Uint8Array => new Uint8Array(8).fill(b);
    for (let b = 0; b < 5; b++) assert.equal(guard.accept(t(b), infoHash, 1), true);
    assert.equal(guard.size, 3, 'bounded');
    for (let p = 2; p <= PORTS_PER_TOKEN; p++) assert.equal(guard.accept(t(4), infoHash, p), true);
    assert.equal(guard.accept(t(4), infoHash, 99), false, 'a recent token is held to its ports');
    assert.equal(guard.accept(t(0), infoHash, 2), true, 'the oldest was forgotten (which only forgives)');
    await clock.advance(2 * TOKEN_ROTATE_MS);
    assert.equal(guard.accept(t(9), infoHash, 1), true);
    assert.equal(guard.size, 1, 'entries older than a token lives are gone');
  });
});
