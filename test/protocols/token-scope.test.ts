// Issue 11, defect 7: a write token is good for the method family it was issued for only. An
// infohash and a BEP 44 target are both 20 bytes; a get_peers token must not authorise a put for
// the same key, nor a get token an announce_peer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenNode } from './token-node.js';
import { immutableTarget } from '../../src/protocols/mainline/bep44.js';
import { type BDict, encode } from '../../src/wire/bencode.js';
import type { KrpcMessage } from '../../src/wire/krpc.js';

const id = new Uint8Array(20).fill(0x42);
const value = new TextEncoder().encode('scoped');

const setup = () => tokenNode(11);

function token(m: KrpcMessage): Uint8Array {
  assert.equal(m.y, 'r', `expected a reply, got ${JSON.stringify(m)}`);
  const r = (m as { r: BDict }).r;
  assert.ok(r.token instanceof Uint8Array);
  return r.token;
}

function refusedForToken(m: KrpcMessage): void {
  assert.equal(m.y, 'e', `expected a refusal, got ${JSON.stringify(m)}`);
  assert.match((m as { message: string }).message, /token/);
}

describe('write token scope', () => {
  it('a get_peers token does not authorise a put for the same 20-byte key', async () => {
    const { dht, ask, clock } = await setup();
    const key = immutableTarget(value);
    const gp = token(await ask('get_peers', { id, info_hash: key }));
    refusedForToken(await ask('put', { id, v: value, token: gp }));
    assert.equal(await dht.items.get(key, clock.now()), undefined, 'the item must not be stored');
    // The right token still works: the refusal is about scope, not about the put.
    const g = token(await ask('get', { id, target: key }));
    const ok = await ask('put', { id, v: value, token: g });
    assert.equal(ok.y, 'r', JSON.stringify(ok));
    assert.deepEqual((await dht.items.get(key, clock.now()))?.v, encode(value));
    await dht.close();
  });

  it('a get token does not authorise an announce_peer for the same 20-byte key', async () => {
    const { dht, ask, clock } = await setup();
    const key = immutableTarget(value);
    const g = token(await ask('get', { id, target: key }));
    refusedForToken(await ask('announce_peer', { id, info_hash: key, port: 6881, token: g }));
    assert.deepEqual(await dht.peers.peers(key, 10, 4, clock.now()), []);
    const gp = token(await ask('get_peers', { id, info_hash: key }));
    const ok = await ask('announce_peer', { id, info_hash: key, port: 6881, token: gp });
    assert.equal(ok.y, 'r', JSON.stringify(ok));
    assert.equal((await dht.peers.peers(key, 10, 4, clock.now())).length, 1);
    await dht.close();
  });
});
