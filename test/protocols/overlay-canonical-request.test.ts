import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { decodeCanonicalRequest, provenSender } from '../../src/protocols/overlay/canonical-request.js';
import { OverlayIdentity, overlayIdOf } from '../../src/protocols/overlay/identity.js';
import {
  decodeRequest,
  encodeRequest,
  type OverlayRequest,
  OverlayTag,
} from '../../src/protocols/overlay/messages.js';
import { NO_PUZZLE } from '../../src/protocols/overlay/puzzle.js';
import { SeededRandom } from '../../src/util/random.js';
import { mutateJson } from './mutate.js';

const random = new SeededRandom(404);
const alice = OverlayIdentity.generate({ ...NO_PUZZLE, random });
const bob = OverlayIdentity.generate({ ...NO_PUZZLE, random });
const prefix = provenSender(overlayIdOf(alice.publicKey), alice.publicKey);
const te = (s: string): Uint8Array => new TextEncoder().encode(s);
const td = (b: Uint8Array): string => new TextDecoder().decode(b);
const target = asNodeId(Uint8Array.from({ length: 32 }, (_, i) => (i * 37) % 256));

const canonical: OverlayRequest[] = [
  { method: 'ping', senderId: alice.id, senderPk: alice.publicKey },
  { method: 'ping', senderId: alice.id, senderPk: alice.publicKey, senderPort: 7000 },
  { method: 'find_node', senderId: alice.id, senderPk: alice.publicKey, target },
  { method: 'find_node', senderId: alice.id, senderPk: alice.publicKey, senderPort: 1, target },
  { method: 'get_value', senderId: alice.id, senderPk: alice.publicKey, senderPort: 65_535, target },
];

/** What the total decoder makes of the bytes, or undefined when it refuses them. */
function general(tag: number, json: Uint8Array): OverlayRequest | undefined {
  const r = decodeRequest(tag, json);
  return r.ok ? r.message : undefined;
}

describe('overlay canonical requests (the fast path for Ping, FindNode, GetValue)', () => {
  it('matches what encodeRequest writes and gives what decodeRequest gives', () => {
    for (const request of canonical) {
      const tag = OverlayTag[request.method];
      const json = encodeRequest(request);
      const fast = decodeCanonicalRequest(tag, json, prefix);
      assert.ok(fast, `not matched: ${td(json)}`);
      assert.deepEqual(fast, general(tag, json));
    }
  });

  it('leaves everything else to the total decoder', () => {
    const ping = td(encodeRequest(canonical[0] as OverlayRequest));
    const find = td(encodeRequest(canonical[2] as OverlayRequest));
    const bobs = encodeRequest({ method: 'ping', senderId: bob.id, senderPk: bob.publicKey });
    const cases: [number, string][] = [
      [OverlayTag.ping, td(bobs)], // another sender
      [
        OverlayTag.ping,
        ping.replace(
          /"sender_pk":"[0-9a-f]+"/,
          `"sender_pk":"${Buffer.from(bob.publicKey).toString('hex')}"`,
        ),
      ], // another key
      [
        OverlayTag.ping,
        td(bobs).replace(
          /"sender_pk":"[0-9a-f]+"/,
          `"sender_pk":"${Buffer.from(alice.publicKey).toString('hex')}"`,
        ),
      ], // another id
      [OverlayTag.put_value, ping], // another method
      [OverlayTag.ping, ping.replace('"sender_pk":"', '"sender_pk": "')], // spacing
      [
        OverlayTag.ping,
        ping.replace(/"sender_pk":"[0-9a-f]+"/, (m) => m.slice(0, 13) + m.slice(13).toUpperCase()),
      ], // hex case
      [OverlayTag.ping, `${ping} `],
      [OverlayTag.ping, ping.replace(/}$/, ',"sender_port":0}')],
      [OverlayTag.ping, ping.replace(/}$/, ',"sender_port":065}')],
      [OverlayTag.ping, ping.replace(/}$/, ',"sender_port":65536}')],
      [OverlayTag.ping, ping.replace(/}$/, `,"sender_pk":"${bob.publicKey.length}"}`)], // a repeated key
      [OverlayTag.find_node, find.replace('"target":[0,', '"target":[00,')],
      [OverlayTag.find_node, find.replace('"target":[0,', '"target":[256,')],
      [OverlayTag.find_node, find.replace('"target":[0,', '"target":[')], // 31 numbers
      [OverlayTag.find_node, find.replace(/]}$/, ',1]}')], // 33 numbers
      [OverlayTag.find_node, find.replace(/]}$/, '],"target":[1]}')], // repeated key
      [OverlayTag.find_node, find.replace(/]}$/, '],"x":1}')], // unknown field
      [OverlayTag.find_node, ping], // no target
    ];
    for (const [tag, text] of cases) {
      assert.equal(decodeCanonicalRequest(tag, te(text), prefix), undefined, text);
    }
  });

  it('on 20,000 mutated requests: whatever it matches, the total decoder reads the same way', () => {
    const alphabet = te('{}[]":,0123456789 \\aefpt_');
    let matched = 0;
    let mutants = 0;
    for (let i = 0; i < 20_000; i++) {
      const request = canonical[random.int(canonical.length)] as OverlayRequest;
      const tag = random.int(8) === 0 ? 1 + random.int(6) : OverlayTag[request.method];
      const json = mutateJson(encodeRequest(request), random, alphabet, 1);
      const fast = decodeCanonicalRequest(tag, json, prefix);
      if (!fast) continue;
      matched++;
      if (td(json) !== td(encodeRequest(request))) mutants++;
      assert.deepEqual(fast, general(tag, json), `${tag} ${td(json)}`);
    }
    // Some mutants stay canonical (a target byte or a port digit changed): those must match too.
    assert.ok(matched > 200, `matched ${matched}`);
    assert.ok(mutants > 20, `mutants matched ${mutants}`);
  });
});
