/**
 * The get_peers handler on its own: its reply is built synchronously when the peer store answers
 * synchronously, and is the same reply when the store answers with a promise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { RoutingTable } from '../../src/kademlia/routing-table.js';
import type { HandlerContext } from '../../src/protocols/mainline/handlers/context.js';
import { getPeers } from '../../src/protocols/mainline/handlers/get-peers.js';
import { TokenManager } from '../../src/protocols/mainline/tokens.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { ItemStore, MemoryItemBackend } from '../../src/storage/item-store.js';
import { MemoryPeerStore, type PeerStore } from '../../src/storage/peer-store.js';
import { makeAddress } from '../../src/transport/address.js';
import { SeededRandom } from '../../src/util/random.js';
import type { BDict } from '../../src/wire/bencode.js';

const infoHash = new Uint8Array(20).fill(5);
const from = makeAddress('10.1.2.3', 6881);

function query(scrape = false): Parameters<typeof getPeers>[1] {
  return {
    method: 'get_peers',
    id: asNodeId(new Uint8Array(20)),
    infoHash,
    want: undefined,
    noseed: false,
    scrape,
  };
}

/** A store whose reads answer through the microtask queue, as Redis's do. */
function asynchronous(store: PeerStore): PeerStore {
  return new Proxy(store, {
    get: (target, key) =>
      key === 'peers'
        ? (...args: Parameters<PeerStore['peers']>) => Promise.resolve(target.peers(...args))
        : Reflect.get(target, key),
  });
}

async function context(wrap: (s: PeerStore) => PeerStore = (s) => s): Promise<HandlerContext> {
  const clock = new VirtualClock();
  const peers = new MemoryPeerStore();
  await peers.announce(infoHash, makeAddress('10.9.9.1', 1000), false, 0);
  await peers.announce(infoHash, makeAddress('10.9.9.2', 2000), true, 0);
  return {
    localId: asNodeId(new Uint8Array(20).fill(1)),
    table: new RoutingTable(asNodeId(new Uint8Array(20).fill(1))),
    // Same seed for every context: the same tokens, so replies compare equal.
    tokens: new TokenManager(clock, new SeededRandom(1)),
    peers: wrap(peers),
    items: new ItemStore(new MemoryItemBackend()),
    fullNode: false,
    clock,
    k: 8,
    maxValues: { v4: 100, v6: 45 },
  };
}

describe('get_peers handler', () => {
  it('replies synchronously from a synchronous store', async () => {
    const ctx = await context();
    const reply = getPeers(ctx, query(), from);
    assert.ok(!(reply instanceof Promise), 'no promise for an in-memory store');
    const dict = reply as BDict;
    assert.ok(ctx.tokens.verify('peers', from.host, infoHash, dict.token as Uint8Array));
    assert.equal((dict.values as Uint8Array[]).length, 2);
  });

  it('gives the same reply when the store answers with a promise', async () => {
    const sync = getPeers(await context(), query(), from);
    const pending = getPeers(await context(asynchronous), query(), from);
    assert.ok(pending instanceof Promise);
    assert.deepEqual(await pending, sync);
  });

  it('adds the BEP 33 filters on scrape, from either kind of store', async () => {
    const sync = await getPeers(await context(), query(true), from);
    const pending = await getPeers(await context(asynchronous), query(true), from);
    assert.ok((sync as BDict).BFsd instanceof Uint8Array);
    assert.ok((sync as BDict).BFpe instanceof Uint8Array);
    assert.deepEqual(pending, sync);
  });
});
