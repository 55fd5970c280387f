import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkSequence,
  checkValueSize,
  immutableTarget,
  isSmallOrderPoint,
  keypairFromSeed,
  MAX_VALUE_BYTES,
  mutableTarget,
  sign,
  signedBuffer,
  signMutable,
  validateMutable,
  verify,
} from '../../src/protocols/mainline/bep44.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { encode } from '../../src/wire/bencode.js';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const str = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const hex = (h: string): Uint8Array => {
  const out = fromHex(h);
  assert.ok(out, `bad hex in test: ${h}`);
  return out;
};

// The test vectors at the end of BEP 44. The private key there is the 64-byte *expanded* key, not a
// seed, so node:crypto cannot sign with it; the published signatures are checked with the public key.
const VECTOR_PUBLIC_KEY = hex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548');
const HELLO = b('Hello World!');

describe('BEP 44 test vectors', () => {
  it('test 1 (mutable): signed buffer, target and signature', () => {
    assert.equal(str(signedBuffer(1, HELLO)), '3:seqi1e1:v12:Hello World!');
    assert.equal(toHex(mutableTarget(VECTOR_PUBLIC_KEY)), '4a533d47ec9c7d95b1ad75f576cffc641853b750');
    const sig = hex(
      '305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff' +
        '1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01',
    );
    assert.equal(verify(VECTOR_PUBLIC_KEY, signedBuffer(1, HELLO), sig), true);
    assert.ok(validateMutable({ k: VECTOR_PUBLIC_KEY, seq: 1, v: encode(HELLO), sig }).ok);
  });

  it('test 2 (mutable with salt): signed buffer, target and signature', () => {
    const salt = b('foobar');
    assert.equal(str(signedBuffer(1, HELLO, salt)), '4:salt6:foobar3:seqi1e1:v12:Hello World!');
    assert.equal(toHex(mutableTarget(VECTOR_PUBLIC_KEY, salt)), '411eba73b6f087ca51a3795d9c8c938d365e32c1');
    const sig = hex(
      '6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d' +
        'df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08',
    );
    assert.equal(verify(VECTOR_PUBLIC_KEY, signedBuffer(1, HELLO, salt), sig), true);
    // The same signature does not cover the item without its salt, nor another seq.
    assert.equal(verify(VECTOR_PUBLIC_KEY, signedBuffer(1, HELLO), sig), false);
    assert.equal(verify(VECTOR_PUBLIC_KEY, signedBuffer(2, HELLO, salt), sig), false);
  });

  it('test 3 (immutable): target', () => {
    assert.equal(toHex(immutableTarget(HELLO)), 'e5f96f6f38320f0f33959cb4d3d656452117aadb');
  });

  it('treats an empty salt as no salt', () => {
    assert.deepEqual(mutableTarget(VECTOR_PUBLIC_KEY, new Uint8Array(0)), mutableTarget(VECTOR_PUBLIC_KEY));
    assert.deepEqual(signedBuffer(3, HELLO, new Uint8Array(0)), signedBuffer(3, HELLO));
  });
});

describe('ed25519 keys', () => {
  it('derives the RFC 8032 public key from its seed and reproduces its signature', () => {
    const pair = keypairFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    assert.equal(toHex(pair.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    assert.equal(
      toHex(sign(pair, new Uint8Array(0))),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('signs mutable items that verify, and rejects tampering', () => {
    const pair = keypairFromSeed(new Uint8Array(32).fill(7));
    const item = signMutable(pair, 5, { msg: b('hi') }, b('salt'));
    assert.ok(validateMutable(item).ok);
    const tampered = { ...item, v: encode({ msg: b('ho') }) };
    const out = validateMutable(tampered);
    assert.equal(out.ok, false);
    if (!out.ok) assert.equal(out.code, 206);
  });

  it('rejects a wrong-size seed and never throws on a malformed public key', () => {
    assert.throws(() => keypairFromSeed(new Uint8Array(31)), TypeError);
    assert.equal(verify(new Uint8Array(31), b('x'), new Uint8Array(64)), false);
    assert.equal(verify(new Uint8Array(32), b('x'), new Uint8Array(64)), false);
  });

  it('refuses small-order public keys that would let anyone forge (OpenSSL alone accepts them)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array(64);
    forged.set(identity, 0); // R = identity, S = 0: valid for every message under k = identity
    for (const message of ['a', 'b', 'c']) assert.equal(verify(identity, b(message), forged), false);
    const out = validateMutable({ k: identity, seq: 1, v: encode(b('evil')), sig: forged });
    assert.equal(out.ok ? 0 : out.code, 206);
    const highBit = identity.slice();
    highBit[31] = 0x80;
    assert.ok(isSmallOrderPoint(highBit));
    assert.equal(isSmallOrderPoint(VECTOR_PUBLIC_KEY), false);
  });
});

describe('BEP 44 put checks', () => {
  const pair = keypairFromSeed(new Uint8Array(32).fill(1));

  it('205 for a value over 1000 bytes, exactly 1000 accepted', () => {
    const exact = encode(b('x'.repeat(MAX_VALUE_BYTES - 4))); // "996:" + 996 bytes
    assert.equal(exact.length, MAX_VALUE_BYTES);
    assert.ok(checkValueSize(exact).ok);
    const over = validateMutable(signMutable(pair, 1, b('x'.repeat(MAX_VALUE_BYTES))));
    assert.deepEqual(over.ok ? 0 : over.code, 205);
  });

  it('207 for a salt over 64 bytes', () => {
    const out = validateMutable(signMutable(pair, 1, b('v'), new Uint8Array(65)));
    assert.equal(out.ok ? 0 : out.code, 207);
    assert.ok(validateMutable(signMutable(pair, 1, b('v'), new Uint8Array(64))).ok);
  });

  it('203 for a negative seq', () => {
    const item = signMutable(pair, 0, b('v'));
    const out = validateMutable({ ...item, seq: -1 });
    assert.equal(out.ok ? 0 : out.code, 203);
  });

  it('301 on cas mismatch, 302 on lower seq or same seq with another value', () => {
    const current = { seq: 4, v: encode(b('a')) };
    const cas = checkSequence(current, 5, encode(b('b')), 3);
    assert.equal(cas.ok ? 0 : cas.code, 301);
    if (!cas.ok) assert.match(cas.message, /retry with its seq as cas/);
    const low = checkSequence(current, 3, encode(b('b')));
    assert.equal(low.ok ? 0 : low.code, 302);
    const same = checkSequence(current, 4, encode(b('b')));
    assert.equal(same.ok ? 0 : same.code, 302);
    assert.ok(checkSequence(current, 4, encode(b('a'))).ok, 'same seq, same value refreshes');
    assert.ok(checkSequence(current, 5, encode(b('b')), 4).ok);
    assert.ok(checkSequence(undefined, 1, encode(b('b')), 99).ok, 'cas ignored when nothing is stored');
  });
});
