import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import {
  DEFAULT_MAX_VALUE_BYTES,
  isTombstone,
  itemTarget,
  MAX_SALT_BYTES,
  type MutableItem,
  signItem,
  signPayload,
  tombstone,
  verifyItem,
} from '../../src/protocols/overlay/item.js';
import { NO_PUZZLE } from '../../src/protocols/overlay/puzzle.js';
import { SeededRandom } from '../../src/util/random.js';
import { sha256 } from '../../src/util/sha256.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const alice = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(21) });
const bob = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(22) });

describe('overlay items', () => {
  it('lays out the payload as seq 8 BE, len(v) 4 BE, v, len(salt) 4 BE, salt', () => {
    const p = signPayload(0x0102030405060708n, text('ab'), text('xyz'));
    assert.deepEqual(Array.from(p), [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 97, 98, 0, 0, 0, 3, 120, 121, 122]);
    assert.throws(() => signPayload(-1n, text(''), text('')), /uint64/);
    assert.throws(() => signPayload(1n << 64n, text(''), text('')), /uint64/);
  });

  it('targets SHA-256(k || salt), the empty salt being no salt', () => {
    const salt = text('dmsg');
    assert.deepEqual(
      itemTarget(alice.publicKey, salt),
      sha256(Uint8Array.from([...alice.publicKey, ...salt])),
    );
    assert.deepEqual(itemTarget(alice.publicKey), sha256(alice.publicKey));
  });

  it('verifies a signed item and checks the target asked for', () => {
    const item = signItem(alice, text('value'), 1_745_000_000_123_456_789n, text('dmsg'));
    assert.deepEqual(verifyItem(item), { ok: true });
    assert.deepEqual(verifyItem(item, undefined, itemTarget(alice.publicKey, text('dmsg'))), { ok: true });
    const wrongTarget = verifyItem(item, undefined, itemTarget(alice.publicKey, text('svc')));
    assert.equal(wrongTarget.ok, false);
    assert.equal(!wrongTarget.ok && wrongTarget.code, 'TARGET_MISMATCH');
    assert.equal(
      (verifyItem(item, undefined, new Uint8Array(20)) as { code: string }).code,
      'TARGET_MISMATCH',
    );
  });

  it('returns a typed failure for each broken field, never throwing', () => {
    const item = signItem(alice, text('value'), 5n, text('s'));
    const code = (i: MutableItem, limits = { maxValueBytes: DEFAULT_MAX_VALUE_BYTES }): string => {
      const r = verifyItem(i, limits);
      return r.ok ? 'ok' : r.code;
    };
    assert.equal(code({ ...item, v: text('other') }), 'BAD_SIGNATURE');
    assert.equal(code({ ...item, seq: 6n }), 'BAD_SIGNATURE');
    assert.equal(code({ ...item, salt: text('t') }), 'BAD_SIGNATURE');
    assert.equal(code({ ...item, k: bob.publicKey }), 'BAD_SIGNATURE');
    assert.equal(code({ ...item, k: item.k.subarray(1) }), 'MALFORMED');
    assert.equal(code({ ...item, sig: item.sig.subarray(1) }), 'MALFORMED');
    assert.equal(code({ ...item, seq: -1n }), 'MALFORMED');
    assert.equal(code({ ...item, seq: 1n << 64n }), 'MALFORMED');
    assert.equal(code({ ...item, seq: 5 as unknown as bigint }), 'MALFORMED');
    assert.equal(code({ ...item, v: 'x' as unknown as Uint8Array }), 'MALFORMED');
    assert.equal(code(null as unknown as MutableItem), 'MALFORMED');
    assert.equal(code({} as MutableItem), 'MALFORMED');
    assert.equal(code({ ...item, salt: new Uint8Array(MAX_SALT_BYTES + 1) }), 'SALT_TOO_BIG');
    assert.equal(code(item, { maxValueBytes: 4 }), 'VALUE_TOO_BIG');
    const big = signItem(alice, new Uint8Array(DEFAULT_MAX_VALUE_BYTES), 1n);
    assert.equal(code(big), 'ok');
    assert.equal(code(signItem(alice, new Uint8Array(DEFAULT_MAX_VALUE_BYTES + 1), 1n)), 'VALUE_TOO_BIG');
    const r = verifyItem({ ...item, salt: new Uint8Array(201) });
    assert.ok(!r.ok && r.message.startsWith('dht: salt exceeds max size'));
    assert.throws(() => signItem(alice, text(''), 1n, new Uint8Array(MAX_SALT_BYTES + 1)), /salt/);
  });

  it('makes and recognises tombstones', () => {
    const item = signItem(alice, text('live'), 7n, text('svc'));
    const dead = tombstone(alice, 8n, text('svc'));
    assert.equal(isTombstone(item), false);
    assert.equal(isTombstone(dead), true);
    assert.equal(dead.seq, 8n);
    assert.deepEqual(verifyItem(dead, undefined, itemTarget(alice.publicKey, text('svc'))), { ok: true });
  });
});
