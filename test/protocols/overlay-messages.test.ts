import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timestampFromMs, timestampToMs } from '../../src/protocols/overlay/fields.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget, signItem } from '../../src/protocols/overlay/item.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  MAX_CLOSEST_PEERS,
  methodOfTag,
  type OverlayPeer,
  type OverlayRequest,
  type OverlayResponse,
  OverlayTag,
  RESPONSE_TAG_FLAG,
} from '../../src/protocols/overlay/messages.js';
import { NO_PUZZLE } from '../../src/protocols/overlay/puzzle.js';
import { SeededRandom } from '../../src/util/random.js';

const te = (s: string): Uint8Array => new TextEncoder().encode(s);
const td = (b: Uint8Array): string => new TextDecoder().decode(b);
const random = new SeededRandom(51);
const alice = OverlayIdentity.generate({ ...NO_PUZZLE, random });
const bob = OverlayIdentity.generate({ ...NO_PUZZLE, random });
const sender = { senderId: alice.id, senderPk: alice.publicKey };
const item = signItem(alice, te('{"dmsg":"entry"}'), 1745000000123456789n, te('dmsg'));
const plainItem = signItem(bob, te('v'), 3n);
const peers: OverlayPeer[] = [
  { id: bob.id, pk: bob.publicKey, lastSeen: '2026-04-25T10:00:00.123456789Z' },
  { id: alice.id, pk: alice.publicKey, lastSeen: timestampFromMs(1_777_000_000_000) },
];
const target = itemTarget(alice.publicKey, te('dmsg'));

const REQUESTS: OverlayRequest[] = [
  { method: 'ping', ...sender },
  { method: 'find_node', ...sender, target },
  { method: 'get_value', ...sender, target },
  { method: 'put_value', ...sender, item, mirrorTarget: undefined, cas: undefined },
  { method: 'put_value', ...sender, item: plainItem, mirrorTarget: target, cas: 2n },
  { method: 'get_items', ...sender, salt: te('dmsg'), sinceSeq: 1745000000000000000n, limit: 1000 },
  { method: 'get_items', ...sender, salt: undefined, sinceSeq: undefined, limit: undefined },
  { method: 'put_batch', ...sender, items: [item, plainItem], targets: [target, bob.id] },
];

const RESPONSES: [number, OverlayResponse][] = [
  [1, { method: 'ping', responderId: bob.id, responderPk: bob.publicKey }],
  [2, { method: 'find_node', closest: peers }],
  [2, { method: 'find_node', closest: [] }],
  [3, { method: 'get_value', item, closest: peers }],
  [3, { method: 'get_value', item: undefined, closest: [] }],
  [4, { method: 'put_value', stored: true, error: undefined }],
  [4, { method: 'put_value', stored: false, error: 'dht: sequence number must increase' }],
  [5, { method: 'get_items', items: [item], targets: [target], hasMore: true }],
  [6, { method: 'put_batch', stored: [true, false], errors: ['', 'dht: invalid signature: x'] }],
  [6, { method: 'put_batch', stored: [true], errors: undefined }],
  [4, { method: 'error', error: 'busy; retry after 250 ms', code: 'BUSY', retryAfterMs: 250 }],
  [1, { method: 'error', error: 'bad', code: 'BAD_REQUEST', retryAfterMs: undefined }],
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('overlay messages', () => {
  it('maps tags to methods, for requests and responses', () => {
    assert.equal(methodOfTag(OverlayTag.put_value), 'put_value');
    assert.equal(methodOfTag(OverlayTag.put_batch | RESPONSE_TAG_FLAG), 'put_batch');
    for (const tag of [0, 7, 0x80, 0x87, 255, -1]) assert.equal(methodOfTag(tag), undefined, `tag ${tag}`);
  });

  it('round-trips every request', () => {
    for (const request of REQUESTS) {
      const decoded = decodeRequest(OverlayTag[request.method], encodeRequest(request));
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
      assert.deepEqual(decoded.message, request);
    }
  });

  it('round-trips every response, with or without the response flag on the tag', () => {
    for (const [tag, response] of RESPONSES) {
      for (const t of [tag, tag | RESPONSE_TAG_FLAG]) {
        const decoded = decodeResponse(t, encodeResponse(response));
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
        assert.deepEqual(decoded.message, response);
      }
    }
  });

  it("writes Skywire's JSON: field names, NodeID arrays, lowercase hex, base64, seq as an exact integer", () => {
    const json = JSON.parse(td(encodeRequest(REQUESTS[3] as OverlayRequest))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['sender_id', 'sender_pk', 'item']);
    assert.deepEqual(json.sender_id, Array.from(alice.id));
    assert.equal(json.sender_pk, hex(alice.publicKey));
    assert.match(json.sender_pk as string, /^0[23][0-9a-f]{64}$/);
    const it = json.item as Record<string, unknown>;
    assert.deepEqual(Object.keys(it), ['k', 'seq', 'sig', 'v', 'salt']);
    assert.match(it.sig as string, /^[0-9a-f]{130}$/);
    assert.equal(it.v, Buffer.from('{"dmsg":"entry"}').toString('base64'));
    assert.equal(it.salt, 'ZG1zZw==');
    // The seq's digits, exactly (JSON.parse would round it).
    assert.match(td(encodeRequest(REQUESTS[3] as OverlayRequest)), /"seq":1745000000123456789,/);
    // An empty salt is left out (Go: omitempty); our additions appear only when set.
    const put = JSON.parse(td(encodeRequest(REQUESTS[4] as OverlayRequest))) as Record<string, unknown>;
    assert.equal((put.item as Record<string, unknown>).salt, undefined);
    assert.deepEqual(put.mirror_target, Array.from(target));
    assert.equal(put.cas, 2);
    const items = JSON.parse(td(encodeRequest(REQUESTS[5] as OverlayRequest))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(items), ['sender_id', 'sender_pk', 'salt', 'since_seq', 'limit']);
    assert.equal(items.salt, 'dmsg', 'GetItems salt is a Go string, not base64');
    const reply = JSON.parse(td(encodeResponse((RESPONSES[3] as [number, OverlayResponse])[1])));
    assert.deepEqual(Object.keys(reply.closest[0]), ['id', 'pk', 'last_seen']);
    assert.deepEqual(
      Object.keys(JSON.parse(td(encodeResponse((RESPONSES[7] as [number, OverlayResponse])[1])))),
      ['items', 'targets', 'has_more'],
    );
  });

  it('reads what a Go peer writes: nulls, omitted fields, a zero mirror_target, nanosecond times', () => {
    const zero = JSON.stringify(Array(32).fill(0));
    const s = `"sender_id":${JSON.stringify(Array.from(alice.id))},"sender_pk":"${hex(alice.publicKey)}"`;
    const itemJson = `{"k":"${hex(bob.publicKey)}","seq":3,"sig":"${hex(plainItem.sig)}","v":"dg=="}`;
    const put = decodeRequest(4, te(`{${s},"item":${itemJson},"mirror_target":${zero}}`));
    assert.ok(put.ok);
    assert.equal(put.message.method === 'put_value' && put.message.mirrorTarget, undefined);
    assert.deepEqual(put.message.method === 'put_value' && put.message.item, plainItem);
    const found = decodeResponse(2, te('{"closest":null}'));
    assert.deepEqual(found.ok && found.message, { method: 'find_node', closest: [] });
    const empty = decodeResponse(3, te('{}'));
    assert.deepEqual(empty.ok && empty.message, { method: 'get_value', item: undefined, closest: [] });
    const nilValue = decodeResponse(3, te(`{"item":${itemJson.replace('"dg=="', 'null')}}`));
    assert.ok(nilValue.ok && nilValue.message.method === 'get_value');
    assert.equal(nilValue.message.item?.v.length, 0);
    const peer = `{"id":${JSON.stringify(Array.from(bob.id))},"pk":"${hex(bob.publicKey).toUpperCase()}","last_seen":"2026-04-25T12:00:00.123456789+02:00"}`;
    const withPeer = decodeResponse(2, te(`{"closest":[${peer}],"extra":"ignored"}`));
    assert.ok(withPeer.ok && withPeer.message.method === 'find_node');
    assert.deepEqual(withPeer.message.closest[0]?.pk, bob.publicKey);
    assert.equal(
      timestampToMs(withPeer.message.closest[0]?.lastSeen ?? ''),
      Date.UTC(2026, 3, 25, 10, 0, 0, 123),
    );
    const batch = decodeResponse(6, te('{"stored":[true,true]}'));
    assert.deepEqual(batch.ok && batch.message, {
      method: 'put_batch',
      stored: [true, true],
      errors: undefined,
    });
  });

  it('refuses bad fields with a typed error naming the field', () => {
    const base = JSON.parse(td(encodeRequest(REQUESTS[3] as OverlayRequest))) as Record<string, unknown>;
    const check = (tag: number, body: unknown, field: string | undefined, code = 'BAD_REQUEST'): void => {
      const r = decodeRequest(tag, te(typeof body === 'string' ? body : JSON.stringify(body)));
      assert.equal(r.ok, false, `accepted ${JSON.stringify(body)}`);
      if (!r.ok) {
        assert.equal(r.error.code, code);
        assert.equal(r.error.field, field);
        assert.ok(r.error.message.length > 10);
      }
    };
    const withItem = (patch: Record<string, unknown>): unknown => ({
      ...base,
      item: { ...(base.item as object), ...patch },
    });
    check(4, { ...base, sender_id: (base.sender_id as number[]).slice(1) }, 'sender_id');
    check(4, { ...base, sender_id: [...(base.sender_id as number[]).slice(1), 256] }, 'sender_id');
    check(4, { ...base, sender_id: [...(base.sender_id as number[]).slice(1), 1.5] }, 'sender_id');
    check(4, { ...base, sender_id: hex(alice.id) }, 'sender_id');
    check(4, { ...base, sender_pk: hex(alice.publicKey).slice(2) }, 'sender_pk');
    check(4, { ...base, sender_pk: `zz${hex(alice.publicKey).slice(2)}` }, 'sender_pk');
    // A bad character anywhere, high or low nibble, ASCII or not.
    check(4, { ...base, sender_pk: `${hex(alice.publicKey).slice(0, -1)}g` }, 'sender_pk');
    check(
      4,
      { ...base, sender_pk: `${hex(alice.publicKey).slice(0, 30)}é${hex(alice.publicKey).slice(31)}` },
      'sender_pk',
    );
    check(
      4,
      { ...base, sender_pk: `${hex(alice.publicKey).slice(0, 40)}/${hex(alice.publicKey).slice(41)}` },
      'sender_pk',
    );
    check(4, withItem({ sig: `${(base.item as { sig: string }).sig.slice(0, -2)}:0` }), 'item.sig');
    check(4, { ...base, item: 'x' }, 'item');
    check(4, withItem({ sig: (base.item as { sig: string }).sig.slice(2) }), 'item.sig');
    check(4, withItem({ k: 7 }), 'item.k');
    check(4, withItem({ v: 'aGk' }), 'item.v');
    check(4, withItem({ v: 'aGl=' }), 'item.v');
    check(4, withItem({ v: 'a Gk=' }), 'item.v');
    check(4, withItem({ salt: 5 }), 'item.salt');
    check(4, withItem({ seq: -1 }), 'item.seq');
    check(4, withItem({ seq: '1' }), 'item.seq');
    check(4, withItem({ seq: 1.5 }), 'item.seq');
    for (const seq of ['18446744073709551616', '1.5e18', '1745000000123456789.0', '-0.5']) {
      check(
        4,
        td(encodeRequest(REQUESTS[3] as OverlayRequest)).replace('1745000000123456789', seq),
        'item.seq',
      );
    }
    check(4, { ...base, cas: -2 }, 'cas');
    check(4, { ...base, mirror_target: [1] }, 'mirror_target');
    check(5, { ...base, limit: -1 }, 'limit');
    check(5, { ...base, since_seq: null }, 'since_seq');
    check(6, { ...base, items: [base.item], targets: [] }, 'targets');
    check(6, { ...base, items: {}, targets: [] }, 'items');
    check(4, '[]', 'body');
    check(4, '{"sender_id":', undefined);
    check(0, '{}', undefined, 'UNKNOWN_METHOD');
    check(9, '{}', undefined, 'UNKNOWN_METHOD');
    const tooMany = Array.from({ length: MAX_CLOSEST_PEERS + 1 }, () =>
      JSON.parse(
        JSON.stringify({ id: Array.from(bob.id), pk: hex(bob.publicKey), last_seen: '2026-01-01T00:00:00Z' }),
      ),
    );
    const r = decodeResponse(2, te(JSON.stringify({ closest: tooMany })));
    assert.ok(!r.ok && r.error.code === 'BAD_RESPONSE' && r.error.field === 'closest');
    const badTime = decodeResponse(
      2,
      te(JSON.stringify({ closest: [{ ...tooMany[0], last_seen: 'yesterday' }] })),
    );
    assert.ok(!badTime.ok && badTime.error.field === 'closest[0].last_seen');
    const badRetry = decodeResponse(1, te('{"error":"x","code":"BUSY","retry_after_ms":-5}'));
    assert.ok(!badRetry.ok && badRetry.error.field === 'retry_after_ms');
    const badErrors = decodeResponse(6, te('{"stored":[true],"errors":["",""]}'));
    assert.ok(!badErrors.ok && badErrors.error.field === 'errors');
  });

  it('never throws on 100,000 fuzzed bodies; what it accepts re-encodes to the same message', () => {
    const fuzz = new SeededRandom(52);
    const seeds: [number, boolean, string][] = [
      ...REQUESTS.map((r): [number, boolean, string] => [OverlayTag[r.method], true, td(encodeRequest(r))]),
      ...RESPONSES.map(([tag, r]): [number, boolean, string] => [tag, false, td(encodeResponse(r))]),
    ];
    const alphabet = '{}[]":,-0123456789abcdef=+/AZ \\nul';
    const start = performance.now();
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      const [seedTag, isRequest, text] = seeds[fuzz.int(seeds.length)] as [number, boolean, string];
      const tag = fuzz.int(16) === 0 ? fuzz.int(256) : seedTag;
      let body = text;
      for (let e = 1 + fuzz.int(3); e > 0; e--) {
        const at = fuzz.int(body.length + 1);
        const ch = alphabet[fuzz.int(alphabet.length)] as string;
        const op = fuzz.int(5);
        if (op === 0) body = body.slice(0, at) + body.slice(at + 1);
        else if (op === 1) body = body.slice(0, at) + ch + body.slice(at);
        else if (op === 2) body = body.slice(0, at) + ch + body.slice(at + 1);
        else if (op === 3) body = body.slice(0, at);
        // op 4: keep, so some inputs reach deep field checks intact
      }
      const bytes = fuzz.int(20) === 0 ? fuzz.bytes(fuzz.int(100)) : te(body);
      const decoded = isRequest ? decodeRequest(tag, bytes) : decodeResponse(tag, bytes);
      if (!decoded.ok) {
        assert.ok(['UNKNOWN_METHOD', 'BAD_REQUEST', 'BAD_RESPONSE'].includes(decoded.error.code));
        continue;
      }
      accepted++;
      const again = isRequest
        ? decodeRequest(tag, encodeRequest(decoded.message as OverlayRequest))
        : decodeResponse(tag, encodeResponse(decoded.message as OverlayResponse));
      assert.ok(again.ok);
      assert.deepEqual(again.message, decoded.message);
      if (i % 1000 === 0) assert.ok(performance.now() - start < 90_000, 'fuzzing took too long');
    }
    assert.ok(accepted > 5000, `only ${accepted} fuzzed bodies decoded; the fuzzer is too destructive`);
  });
});
