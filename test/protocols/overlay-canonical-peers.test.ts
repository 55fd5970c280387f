import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoutingTable } from '../../src/kademlia/routing-table.js';
import { decodeCanonicalClosest } from '../../src/protocols/overlay/canonical-peers.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import {
  decodeResponse,
  encodeResponse,
  MAX_CLOSEST_PEERS,
  type OverlayPeer,
  type OverlayResponse,
  OverlayTag,
  peerJson,
} from '../../src/protocols/overlay/messages.js';
import { encodePeerJson, overlayPeerOf } from '../../src/protocols/overlay/peer-json.js';
import { makeAddress } from '../../src/transport/address.js';
import { SeededRandom } from '../../src/util/random.js';
import { mutateJson } from './mutate.js';

const random = new SeededRandom(505);
const te = (s: string): Uint8Array => new TextEncoder().encode(s);
const td = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Peers as a server sends them: from a table with IPv4 and IPv6 contacts. */
function peers(count: number): OverlayPeer[] {
  const self = OverlayIdentity.simulatedBatch(1, random)[0] as OverlayIdentity;
  const table = new RoutingTable(self.id, { k: 20, keyBytes: 33, exemptLocal: true }, 0);
  OverlayIdentity.simulatedBatch(count * 4, random).forEach((id, i) => {
    const address =
      i % 4 === 0
        ? makeAddress(`2001:db8::${(i + 1).toString(16)}`, 1 + i)
        : makeAddress(`10.1.${i >> 8}.${i & 255}`, 9000 + i);
    table.observe({ id: id.id, address, key: id.publicKey }, true, 1_700_000_000_000 + i * 1_001);
  });
  return table.closest(random.bytes(32), count).map(overlayPeerOf);
}

/** What the total decoder makes of the bytes (bypassing the fast path), or undefined. */
function general(tag: number, json: Uint8Array): OverlayResponse | undefined {
  // A leading space is not canonical: the total decoder reads it as the same document.
  const r = decodeResponse(tag, Uint8Array.from([0x20, ...json]));
  return r.ok ? r.message : undefined;
}

describe('overlay canonical peer lists (the fast path for FindNode and GetValue replies)', () => {
  const list = peers(20);
  const replies: [number, Uint8Array][] = [
    [OverlayTag.find_node, encodeResponse({ method: 'find_node', closest: list })],
    [OverlayTag.find_node, encodeResponse({ method: 'find_node', closest: [] })],
    [OverlayTag.find_node, encodeResponse({ method: 'find_node', closest: list.slice(0, 1) })],
    [OverlayTag.get_value, encodeResponse({ method: 'get_value', closest: list })],
    [
      OverlayTag.find_node,
      encodeResponse({ method: 'find_node', closest: list.map(({ addr: _, ...p }) => p) }),
    ],
  ];

  it('matches what encodeResponse writes and gives what the total decoder gives', () => {
    for (const [tag, json] of replies) {
      const fast = decodeCanonicalClosest(json, MAX_CLOSEST_PEERS);
      assert.ok(fast, `not matched: ${td(json).slice(0, 80)}`);
      const viaDecodeResponse = decodeResponse(tag, json);
      assert.ok(viaDecodeResponse.ok);
      assert.deepEqual(viaDecodeResponse.message, general(tag, json));
    }
  });

  it('the direct Peer encoder writes what JSON.stringify of peerJson writes', () => {
    const self = OverlayIdentity.simulatedBatch(1, random)[0] as OverlayIdentity;
    const table = new RoutingTable(self.id, { k: 20, keyBytes: 33, exemptLocal: true }, 0);
    OverlayIdentity.simulatedBatch(60, random).forEach((id, i) => {
      const address =
        i % 3 === 0 ? makeAddress(`fd00::${i + 1}`, 65_535) : makeAddress(`192.0.2.${i}`, i + 1);
      table.observe({ id: id.id, address, key: id.publicKey }, i % 2 === 0, i * 999_999_937);
    });
    for (const node of table.closest(random.bytes(32), 60)) {
      assert.equal(td(encodePeerJson(node)), JSON.stringify(peerJson(overlayPeerOf(node))));
    }
  });

  it('leaves everything else to the total decoder', () => {
    const find = td(encodeResponse({ method: 'find_node', closest: list.slice(0, 2) }));
    const cases = [
      find.replace('{"closest":[', '{ "closest":['), // spacing
      find.replace(/"pk":"([0-9a-f]{66})"/, (_, h: string) => `"pk":"${h.toUpperCase()}"`), // uppercase hex
      find.replace('"addr":"', '"addr":"\\u0031'), // an escape
      find.replace(/"last_seen":"[^"]*"/, '"last_seen":"yesterday"'), // not RFC 3339
      find.replace(/"id":\[(\d+),/, '"id":[0$1,'), // a leading zero
      find.replace(/"id":\[\d+,/, '"id":[256,'), // out of range
      find.replace(/"id":\[\d+,/, '"id":['), // 31 bytes
      find.replace(/"addr":"[^"]*"/, `"addr":"${'1'.repeat(65)}"`), // too long
      find.replace('}]}', '},]}'), // trailing comma
      find.replace(/^\{"closest":\[(.*)\]\}$/, '{"closest":[$1],"x":1}'), // another field
      td(encodeResponse({ method: 'find_node', closest: peers(MAX_CLOSEST_PEERS + 1) })), // too many
    ];
    for (const text of cases) {
      assert.equal(decodeCanonicalClosest(te(text), MAX_CLOSEST_PEERS), undefined, text.slice(0, 120));
    }
    // An item in a GetValue reply is never this shape.
    assert.equal(decodeCanonicalClosest(te('{"item":{},"closest":[]}'), MAX_CLOSEST_PEERS), undefined);
  });

  it('on 10,000 mutated replies, whatever it matches the total decoder reads the same way', () => {
    const alphabet = te('0123456789abcdefABCDEF,:[]{}" \\.-+TZ');
    let matched = 0;
    let mutants = 0;
    const base = replies.slice(0, 4);
    for (let i = 0; i < 10_000; i++) {
      const [tag, original] = base[random.int(base.length)] as [number, Uint8Array];
      const json = mutateJson(original, random, alphabet);
      const fast = decodeCanonicalClosest(json, MAX_CLOSEST_PEERS);
      if (!fast) continue;
      matched++;
      if (td(json) !== td(original)) mutants++;
      const slow = general(tag, json);
      assert.ok(slow, `the fast path accepted what the total decoder refuses: ${td(json).slice(0, 200)}`);
      assert.deepEqual(
        slow.method === 'find_node' || slow.method === 'get_value' ? slow.closest : slow,
        fast,
      );
    }
    assert.ok(matched > 250, `matched ${matched}`);
    assert.ok(mutants > 50, `mutants matched ${mutants}`);
  });
});
