import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { signItem } from '../../src/protocols/overlay/item.js';
import {
  decodeResponse,
  encodeResponse,
  type OverlayPeer,
  type OverlayResponse,
  OverlayTag,
} from '../../src/protocols/overlay/messages.js';
import { timestampFromMs } from '../../src/protocols/overlay/fields.js';
import { SeededRandom } from '../../src/util/random.js';
import { mutateJson } from './mutate.js';

const random = new SeededRandom(913);
const te = (s: string): Uint8Array => new TextEncoder().encode(s);
const td = (b: Uint8Array): string => new TextDecoder().decode(b);
const ids = OverlayIdentity.simulatedBatch(24, random);

function peers(count: number): OverlayPeer[] {
  return ids.slice(0, count).map((id, i) => ({
    id: id.id,
    pk: id.publicKey,
    lastSeen: timestampFromMs(1_700_000_000_000 + i * 1_001),
    ...(i % 3 === 0
      ? {}
      : { addr: i % 4 === 0 ? `[2001:db8::${i + 1}]:${i + 1}` : `10.1.0.${i}:${9000 + i}` }),
  }));
}

/** What the total decoder makes of the bytes: a leading space is not matched by any fast path. */
function general(json: Uint8Array): ReturnType<typeof decodeResponse> {
  return decodeResponse(OverlayTag.get_value, Uint8Array.from([0x20, ...json]));
}

describe('overlay GetValue hits (item and peers, split between the two decoders)', () => {
  const signer = ids[23] as OverlayIdentity;
  const item = signItem(signer, te('{"static":"02ab","x":[1,2]}'), 77n, te('dmsg'));
  const replies = [
    encodeResponse({ method: 'get_value', item, closest: peers(20) }),
    encodeResponse({ method: 'get_value', item, closest: peers(1) }),
    encodeResponse({ method: 'get_value', item: signItem(signer, new Uint8Array(0), 3n), closest: peers(5) }),
  ];

  it('reads what encodeResponse writes as the total decoder does', () => {
    for (const json of replies) {
      assert.ok(td(json).startsWith('{"item":{'), td(json).slice(0, 40));
      const fast = decodeResponse(OverlayTag.get_value, json);
      assert.ok(fast.ok);
      const m = fast.message as Extract<OverlayResponse, { method: 'get_value' }>;
      assert.ok(m.item && m.closest.length > 0);
      assert.deepEqual(fast, general(json));
    }
  });

  it('on 5,000 mutated hits, gives exactly what the total decoder gives', () => {
    const alphabet = te('0123456789abcdefABCDEF,:[]{}" \\.-+TZ=/');
    let accepted = 0;
    let mutantsAccepted = 0;
    for (let i = 0; i < 5_000; i++) {
      const original = replies[random.int(replies.length)] as Uint8Array;
      const json = mutateJson(original, random, alphabet);
      const fast = decodeResponse(OverlayTag.get_value, json);
      const slow = general(json);
      assert.equal(fast.ok, slow.ok, `fast ${fast.ok}, total ${slow.ok}: ${td(json).slice(0, 200)}`);
      if (!fast.ok) continue;
      assert.deepEqual(fast, slow, td(json).slice(0, 200));
      accepted++;
      if (td(json) !== td(original)) mutantsAccepted++;
    }
    assert.ok(accepted > 125, `accepted ${accepted}`);
    assert.ok(mutantsAccepted > 25, `mutants accepted ${mutantsAccepted}`);
  });
});
