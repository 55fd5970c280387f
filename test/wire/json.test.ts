import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../src/util/random.js';
import {
  decodeJson,
  encodeJson,
  JSON_MAX_DEPTH,
  type JsonValue,
  stringifyJson,
} from '../../src/wire/json.js';

const ok = (text: string): JsonValue => {
  const r = decodeJson(new TextEncoder().encode(text));
  assert.ok(r.ok, `expected ${text} to parse: ${r.ok ? '' : r.error}`);
  return r.value;
};
const bad = (input: string | Uint8Array, pattern?: RegExp): void => {
  const r = decodeJson(typeof input === 'string' ? new TextEncoder().encode(input) : input);
  assert.equal(r.ok, false, `expected ${String(input)} to be refused`);
  if (pattern && !r.ok) assert.match(r.error, pattern);
};

/** Plain-object view (our objects have a null prototype; deepEqual compares prototypes). */
const plain = (v: JsonValue): unknown => JSON.parse(stringifyJson(v)) as unknown;

describe('json', () => {
  it('parses every JSON type', () => {
    assert.deepEqual(plain(ok(' {"a":[1,-2.5,1e3,true,false,null,"x"],"b":{}} ')), {
      a: [1, -2.5, 1000, true, false, null, 'x'],
      b: {},
    });
    assert.equal(ok('"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"'), 'é\n"\\/\b\f\r\t');
    assert.equal(ok('"\\ud83d\\ude00"'), '😀');
    assert.equal(ok('"😀 ü"'), '😀 ü');
  });

  it('keeps integers beyond 2^53 exact, as bigint, and safe integers as numbers', () => {
    assert.equal(ok('9007199254740991'), 9007199254740991);
    assert.equal(ok('9007199254740992'), 9007199254740992n);
    assert.equal(ok('1745000000123456789'), 1745000000123456789n);
    assert.equal(ok('18446744073709551615'), 18446744073709551615n);
    assert.equal(ok('-9007199254740993'), -9007199254740993n);
    // Not integer literals: numbers (a uint64 field refuses them unless they are safe integers).
    assert.equal(ok('1.5e18'), 1.5e18);
    assert.equal(ok('-0'), -0);
    bad('1e400', /out of range/);
    bad('1'.repeat(65), /longer than/);
  });

  it('reads integers summed digit by digit exactly, at the 15-digit switch and at the end of input', () => {
    assert.equal(ok('0'), 0);
    assert.equal(ok('7'), 7);
    assert.equal(ok('-12'), -12);
    assert.equal(ok('999999999999999'), 999_999_999_999_999);
    assert.equal(ok('-999999999999999'), -999_999_999_999_999);
    assert.equal(ok('1000000000000000'), 1_000_000_000_000_000);
    assert.equal(ok('4503599627370497'), 4_503_599_627_370_497);
    assert.deepEqual(ok('[0,255, 3 ,\n4]'), [0, 255, 3, 4]);
    assert.deepEqual(ok('[1.5,2e2,-0]'), [1.5, 200, -0]);
    assert.equal(Object.is((ok('[-0]') as number[])[0], -0), true);
    bad('[1 2]', /expected "," or "]"/);
    bad('[1,]', /unexpected character/);
    bad('[1', /expected "," or "]"/);
    bad('01', /leading zero/);
    bad('-', /expected a digit/);
  });

  it('encodes bigint as a JSON integer and leaves undefined fields out', () => {
    const bytes = encodeJson({ seq: 1745000000123456789n, v: 'x', salt: undefined, n: [1, null, true] });
    assert.equal(new TextDecoder().decode(bytes), '{"seq":1745000000123456789,"v":"x","n":[1,null,true]}');
    const back = decodeJson(bytes);
    assert.ok(back.ok);
    assert.equal((back.value as { seq: bigint }).seq, 1745000000123456789n);
    assert.throws(() => encodeJson(Number.NaN), /cannot encode/);
    assert.throws(() => encodeJson(undefined as unknown as null), /undefined/);
    assert.equal(stringifyJson([1, undefined as unknown as null, 'a']), '[1,null,"a"]');
    assert.equal(stringifyJson({ a: [1, 2], b: [1, 2n] }), '{"a":[1,2],"b":[1,2]}');
  });

  it('refuses malformed JSON with a position', () => {
    for (const text of [
      '',
      ' ',
      '{',
      '[1,]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      '01',
      '1.',
      '.5',
      '-',
      '1e',
      '+1',
      'tru',
      'nul',
      'NaN',
      '"abc',
      '"\\x"',
      '"\\u12"',
      '"a\nb"',
      '"\\n\u0001"',
      '"\u0001\\n"',
      '[1] [2]',
      '{"a":1}x',
      "'a'",
    ]) {
      bad(text);
    }
    bad('[1,]', /at character \d+/);
  });

  it('parses long documents of strings in linear time, escapes anywhere', () => {
    const plainStrings = `[${Array.from({ length: 100_000 }, () => '"ab"').join(',')}]`;
    const escaped = `[${Array.from({ length: 100_000 }, (_, i) => (i % 1000 === 999 ? '"a\\\\b"' : '"ab"')).join(',')}]`;
    const start = performance.now();
    const a = decodeJson(plainStrings);
    const b = decodeJson(escaped);
    assert.ok(a.ok && b.ok);
    assert.equal((b.value as string[])[999], 'a\\b');
    assert.equal((b.value as string[])[1000], 'ab');
    assert.ok(performance.now() - start < 5_000, 'string parsing is not linear');
    assert.deepEqual(plain(ok('["a","b\\n","c",{"d\\"":"e"},"\\u0041"]')), [
      'a',
      'b\n',
      'c',
      { 'd"': 'e' },
      'A',
    ]);
  });

  it('refuses repeated keys and treats __proto__ as an ordinary key', () => {
    bad('{"a":1,"a":2}', /repeated key/);
    const v = ok('{"__proto__":{"polluted":true},"constructor":1}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), null);
    assert.deepEqual(plain(v['__proto__'] as JsonValue), { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('bounds depth and size, and refuses invalid UTF-8', () => {
    ok('['.repeat(JSON_MAX_DEPTH) + ']'.repeat(JSON_MAX_DEPTH));
    bad('['.repeat(JSON_MAX_DEPTH + 1) + ']'.repeat(JSON_MAX_DEPTH + 1), /nesting/);
    bad('['.repeat(200_000), /nesting/);
    assert.equal(decodeJson('[1,2,3]', { maxBytes: 6 }).ok, false);
    assert.equal(decodeJson(new Uint8Array(7).fill(0x20), { maxBytes: 6 }).ok, false);
    assert.equal(decodeJson('[1,2]', { maxBytes: 6 }).ok, true);
    bad(Uint8Array.of(0x22, 0xff, 0x22), /UTF-8/);
    bad(Uint8Array.of(0x22, 0xc3, 0x22), /UTF-8/);
    bad(Uint8Array.of(0xef, 0xbb, 0xbf, 0x31));
  });

  it('agrees with JSON.parse on 20,000 random documents (differential)', () => {
    const random = new SeededRandom(41);
    for (let i = 0; i < 20_000; i++) {
      const value = randomValue(random, 0);
      const text = JSON.stringify(value, null, random.int(2) === 0 ? undefined : 1);
      const ours = decodeJson(new TextEncoder().encode(text));
      assert.ok(ours.ok, text);
      assert.deepEqual(plain(ours.value), JSON.parse(text), text);
      assert.equal(stringifyJson(ours.value), JSON.stringify(JSON.parse(text)));
    }
  });

  it('never throws on 100,000 random and mutated inputs, and agrees with JSON.parse on what it accepts', () => {
    const random = new SeededRandom(42);
    const seeds = [
      '{"sender_id":[1,2,3],"sender_pk":"02ab","item":{"k":"02","seq":1745000000123456789,"sig":"00","v":"aGk=","salt":"ZA=="}}',
      '{"closest":[{"id":[0,255],"pk":"03ff","last_seen":"2026-04-25T10:00:00.123456789Z"}]}',
      '[1,-2.5e-3,"\\u00e9\\ud83d\\ude00",true,false,null,{"a":{"b":[[]]}}]',
    ];
    const alphabet = '{}[]":,.-+eE0123456789 \\ntrufalsn\u00e9\ud83d\ude00';
    const start = performance.now();
    let accepted = 0;
    for (let i = 0; i < 100_000; i++) {
      const input = mutate(random, seeds[random.int(seeds.length)] as string, alphabet);
      const bytes = random.int(4) === 0 ? random.bytes(random.int(64)) : new TextEncoder().encode(input);
      const r = decodeJson(bytes);
      if (!r.ok) {
        assert.equal(typeof r.error, 'string');
        continue;
      }
      accepted++;
      // What we accept, JSON.parse accepts with the same meaning (it rounds big integers to doubles;
      // it also takes repeated keys, which we refuse).
      const text = new TextDecoder().decode(bytes);
      assert.equal(JSON.stringify(asParsed(r.value)), JSON.stringify(JSON.parse(text)), text);
      assert.ok(performance.now() - start < 60_000, 'fuzzing took too long');
    }
    assert.ok(accepted > 1000, `only ${accepted} mutated inputs parsed; the mutator is too destructive`);
  });
});

function randomValue(random: SeededRandom, depth: number): unknown {
  const kind = random.int(depth > 4 ? 4 : 7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.int(2) === 0;
    case 2:
      return random.int(3) === 0
        ? random.int(2 ** 31) - 2 ** 30
        : (random.float() - 0.5) * 10 ** random.int(20);
    case 3: {
      let s = '';
      const n = random.int(12);
      for (let i = 0; i < n; i++)
        s += String.fromCharCode(random.int(3) === 0 ? random.int(0x3000) : 32 + random.int(95));
      return s;
    }
    case 4:
    case 5:
      return Array.from({ length: random.int(5) }, () => randomValue(random, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      const n = random.int(5);
      for (let i = 0; i < n; i++) out[`k${random.int(100)}`] = randomValue(random, depth + 1);
      return out;
    }
  }
}

function mutate(random: SeededRandom, seed: string, alphabet: string): string {
  let s = seed;
  const edits = 1 + random.int(4);
  for (let e = 0; e < edits; e++) {
    const at = random.int(s.length + 1);
    const op = random.int(4);
    const ch = alphabet[random.int(alphabet.length)] as string;
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1);
    else if (op === 1) s = s.slice(0, at) + ch + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + ch + s.slice(at + 1);
    else s = s.slice(0, at);
  }
  return s;
}

/** Our value as JSON.parse would give it: a bigint becomes the double nearest to it. */
function asParsed(v: JsonValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(asParsed);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      Object.defineProperty(out, k, {
        value: asParsed(e),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}
