import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../src/util/random.js';
import { type BValue, decode, encode, MAX_DEPTH, rawSpanOfKey, text } from '../../src/wire/bencode.js';

const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const str = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

describe('bencode', () => {
  it('round-trips every type with sorted keys', () => {
    const value: BValue = { z: 1, a: [b('spam'), -42, { nested: b('') }], m: 0 };
    const bytes = encode(value);
    assert.equal(str(bytes), 'd1:al4:spami-42ed6:nested0:ee1:mi0e1:zi1ee');
    const back = decode(bytes);
    assert.ok(back.ok);
    assert.deepEqual(encode(back.value), bytes);
  });

  it('keeps byte strings as bytes, including non-UTF-8 bytes', () => {
    const raw = new Uint8Array([0, 0xff, 0x80, 0x9f, 0x3a]);
    const out = decode(encode({ k: raw }));
    assert.ok(out.ok);
    assert.deepEqual((out.value as { k: Uint8Array }).k, raw);
  });

  it('returns byte strings as plain Uint8Array views into the input, even from a Buffer', () => {
    const input = Buffer.from('xxd2:id3:abc1:tl2:zzee', 'latin1').subarray(2);
    const out = decode(input);
    assert.ok(out.ok);
    const { id, t } = out.value as { id: Uint8Array; t: Uint8Array[] };
    assert.equal(Object.getPrototypeOf(id), Uint8Array.prototype);
    assert.equal(str(id), 'abc');
    assert.equal(str(t[0] as Uint8Array), 'zz');
    // Zero-copy: the view shares the input's memory at the right offset.
    assert.equal(id.buffer, input.buffer);
    input[7] = 0x41;
    assert.equal(str(id), 'Abc');
  });

  it('decodes keys right through the key cache: repeats, many distinct keys, __proto__', () => {
    // 2,000 distinct keys of 2-16 bytes overflow the 256 cache slots many times over; each decode
    // runs twice, so the second meets cached keys (or a colliding key in the same slot).
    const random = new SeededRandom(16);
    for (let i = 0; i < 2000; i++) {
      const key = random.bytes(2 + (i % 15));
      const bytes = new Uint8Array([...b(`d${key.length}:`), ...key, ...b('i1e1:zi2ee')]);
      const want = { [str(key)]: 1, z: 2 };
      for (let pass = 0; pass < 2; pass++) {
        const out = decode(bytes);
        assert.ok(out.ok);
        assert.deepEqual(out.value, want, `key ${i}, pass ${pass}`);
      }
    }
    for (let pass = 0; pass < 2; pass++) {
      const out = decode(b('d9:__proto__d1:xi1ee2:idi5ee'));
      assert.ok(out.ok);
      const value = out.value as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.deepEqual(Object.keys(value), ['id']);
    }
  });

  it('keeps dictionary keys lossless for bytes 0x80-0xff', () => {
    const bytes = new Uint8Array([...b('d1:'), 0x85, ...b('i1ee')]);
    const out = decode(bytes);
    assert.ok(out.ok);
    assert.deepEqual(encode(out.value), bytes);
  });

  it('skips undefined dictionary values when encoding', () => {
    assert.equal(str(encode({ a: 1, b: undefined })), 'd1:ai1ee');
  });

  it('rejects malformed input with a reason and never throws', () => {
    const bad = [
      '',
      'i',
      'ie',
      'i12',
      'i-e',
      '5:abc',
      'l',
      'd1:a',
      'd1:ai1e',
      'di1ei2ee',
      'x',
      '1:ab',
      '-1:a',
      'i1ei2e',
    ];
    for (const input of bad) {
      const out = decode(b(input));
      assert.equal(out.ok, false, `should reject ${JSON.stringify(input)}`);
      if (!out.ok) assert.ok(out.error.length > 0);
    }
  });

  it('bounds nesting depth', () => {
    const deep = `${'l'.repeat(MAX_DEPTH + 1)}${'e'.repeat(MAX_DEPTH + 1)}`;
    assert.equal(decode(b(deep)).ok, false);
    const ok = `${'l'.repeat(MAX_DEPTH)}${'e'.repeat(MAX_DEPTH)}`;
    assert.equal(decode(b(ok)).ok, true);
  });

  it('rejects integers outside the safe range', () => {
    assert.equal(decode(b('i99999999999999999999e')).ok, false);
    assert.throws(() => encode(1.5), TypeError);
  });

  it('never assigns __proto__ from input', () => {
    const out = decode(b('d9:__proto__d1:xi1eee'));
    assert.ok(out.ok);
    assert.equal(Object.getPrototypeOf(out.value), Object.prototype);
    assert.equal((out.value as Record<string, unknown>).x, undefined);
  });

  it('finds the raw span of a nested key', () => {
    const bytes = b('d1:ad1:vl1:xi1eeee');
    const span = rawSpanOfKey(bytes, ['a', 'v']);
    assert.deepEqual(span, [8, 16]);
    assert.equal(str(bytes.subarray(...(span as [number, number]))), 'l1:xi1ee');
    assert.equal(rawSpanOfKey(bytes, ['a', 'missing']), undefined);
  });

  it('survives random bytes', () => {
    let seed = 7;
    for (let n = 0; n < 5000; n++) {
      const len = n % 64;
      const buf = new Uint8Array(len);
      for (let i = 0; i < len; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        buf[i] = n % 2 === 0 ? seed >>> 24 : (b('dlie0123456789:')[(seed >>> 24) % 15] as number);
      }
      const out = decode(buf);
      if (out.ok) assert.deepEqual(decode(encode(out.value)).ok, true);
    }
  });

  it('text() gives UTF-8 bytes', () => {
    assert.deepEqual([...text('é')], [0xc3, 0xa9]);
  });
});
