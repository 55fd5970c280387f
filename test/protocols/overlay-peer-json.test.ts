import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoutingTable, type RoutingNode } from '../../src/kademlia/routing-table.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { decodeResponse, encodeResponse, OverlayTag } from '../../src/protocols/overlay/messages.js';
import { type ClosestPeers, overlayPeerOf, PeerJsonCache } from '../../src/protocols/overlay/peer-json.js';
import { makeAddress } from '../../src/transport/address.js';
import { SeededRandom } from '../../src/util/random.js';

const random = new SeededRandom(77);
/** The bytes as a plain Uint8Array (the cache hands out Buffers). */
const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const self = OverlayIdentity.simulatedBatch(1, random)[0] as OverlayIdentity;

function table(count: number): RoutingTable {
  const t = new RoutingTable(self.id, { k: 20, keyBytes: 33, exemptLocal: true }, 1_000);
  OverlayIdentity.simulatedBatch(count, random).forEach((id, i) => {
    const address =
      i % 5 === 0
        ? makeAddress(`fd00::${(i + 1).toString(16)}`, 7000 + i)
        : makeAddress(`10.0.${i >> 8}.${i & 255}`, 7000 + i);
    t.observe({ id: id.id, address, key: id.publicKey }, i % 3 !== 0, 1_000_000 + i * 1_234);
  });
  return t;
}

describe('overlay PeerJsonCache', () => {
  const t = table(300);
  const target = random.bytes(32);

  it('writes the bytes encodeResponse writes for the same FindNode and GetValue replies', () => {
    const cache = new PeerJsonCache();
    for (let round = 0; round < 2; round++) {
      const nodes = t.closest(random.bytes(32), 20);
      assert.equal(nodes.length, 20);
      const expected = encodeResponse({ method: 'find_node', closest: nodes.map(overlayPeerOf) });
      assert.deepEqual(u8(cache.closestReply(nodes)), expected);
      // GetValue without an item and with peers is the same object.
      assert.deepEqual(
        u8(cache.closestReply(nodes)),
        encodeResponse({ method: 'get_value', item: undefined, closest: nodes.map(overlayPeerOf) }),
      );
      const decoded = decodeResponse(OverlayTag.find_node, cache.closestReply(nodes));
      assert.ok(decoded.ok && decoded.message.method === 'find_node');
      assert.deepEqual(
        decoded.message.closest.map((p) => p.addr),
        nodes.map((n) =>
          n.address.family === 6
            ? `[${n.address.host}]:${n.address.port}`
            : `${n.address.host}:${n.address.port}`,
        ),
      );
    }
    assert.deepEqual(u8(cache.closestReply([])), encodeResponse({ method: 'find_node', closest: [] }));
  });

  /** The table's 20 closest to `at`, through the cache as the server asks for them. */
  const picker =
    (tbl: RoutingTable, at: Uint8Array): ClosestPeers =>
    (make, memo) =>
      tbl.closestMapped(at, 20, {}, make, memo);

  it('reuses a contact encoding until the table says the contact changed', () => {
    const cache = new PeerJsonCache();
    const nodes = t.closest(target, 20);
    const expected = encodeResponse({ method: 'find_node', closest: nodes.map(overlayPeerOf) });
    assert.deepEqual(u8(cache.closestReply(picker(t, target))), expected);
    assert.deepEqual(cache.counters, { encoded: 20, reused: 0 });
    assert.deepEqual(u8(cache.closestReply(picker(t, target))), expected);
    assert.deepEqual(cache.counters, { encoded: 20, reused: 20 });

    const first = nodes[0] as RoutingNode;
    // It answers again: a new last_seen, which the next reply must carry.
    t.observe(
      { id: first.id, address: first.address, key: first.key as Uint8Array },
      true,
      9_000_000_000_000,
    );
    const bytes = cache.closestReply(picker(t, target));
    assert.deepEqual(cache.counters, { encoded: 21, reused: 39 });
    const after = t.closest(target, 20);
    assert.deepEqual(u8(bytes), encodeResponse({ method: 'find_node', closest: after.map(overlayPeerOf) }));
    assert.match(new TextDecoder().decode(bytes), /"last_seen":"2255-/);

    // It fails and is replaced or dropped: whatever takes its record is encoded afresh, never served stale.
    for (let i = 0; i < 10; i++) t.failed(first.id);
    const replaced = cache.closestReply(picker(t, target));
    assert.deepEqual(
      u8(replaced),
      encodeResponse({ method: 'find_node', closest: t.closest(target, 20).map(overlayPeerOf) }),
    );
  });

  it('is used only while the node answers fast enough, and emptied when it slows down', () => {
    const cache = new PeerJsonCache(5);
    const nodes = t.closest(target, 20);
    const expected = encodeResponse({ method: 'find_node', closest: nodes.map(overlayPeerOf) });
    const pick = picker(t, target);
    for (let i = 0; i < 4; i++) assert.deepEqual(u8(cache.closestReply(pick, 100 + i)), expected);
    assert.deepEqual(cache.counters, { encoded: 0, reused: 0 }, 'four replies in a second: no cache');
    assert.equal(cache.size, 0);
    assert.deepEqual(u8(cache.closestReply(pick, 200)), expected);
    assert.equal(cache.counters.encoded, 20, 'the fifth in the same second fills it');
    assert.deepEqual(u8(cache.closestReply(pick, 1_150)), expected);
    assert.equal(cache.counters.reused, 20, 'the next second starts busy: served from it');
    assert.deepEqual(u8(cache.closestReply(pick, 5_000)), expected);
    assert.equal(cache.size, 0, 'after a quiet spell it holds nothing');
    assert.equal(cache.counters.reused, 20);
  });

  it('with a threshold of zero is always used and never emptied', () => {
    const cache = new PeerJsonCache(0);
    const nodes = t.closest(target, 20);
    const expected = encodeResponse({ method: 'find_node', closest: nodes.map(overlayPeerOf) });
    const pick = picker(t, target);
    assert.deepEqual(u8(cache.closestReply(pick, 100)), expected);
    assert.equal(cache.counters.encoded, 20, 'the first reply fills it');
    // Replies minutes apart (a simulated node's pace): still served from it.
    assert.deepEqual(u8(cache.closestReply(pick, 600_000)), expected);
    assert.deepEqual(u8(cache.closestReply(pick, 1_200_000)), expected);
    assert.deepEqual(cache.counters, { encoded: 20, reused: 40 });
    assert.equal(cache.size, 20);
  });

  it('holds at most one encoding per table record, and serves one table', () => {
    const small = table(40);
    const cache = new PeerJsonCache();
    for (let i = 0; i < 10; i++) cache.closestReply(picker(small, random.bytes(32)));
    assert.ok(cache.size <= small.size, `size ${cache.size} > ${small.size} contacts`);
    assert.throws(() => cache.closestReply(picker(t, target)), /one table/);
  });
});
