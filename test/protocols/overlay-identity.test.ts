import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  OverlayIdentity,
  overlayIdOf,
  PuzzleError,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  SIGNATURE_CACHE_SIZE,
  setSignatureCacheSize,
  verifyDigest,
  verifyPayload,
} from '../../src/protocols/overlay/identity.js';
import {
  checkDynamic,
  checkPuzzles,
  checkStatic,
  leadingZeroBits,
  NO_PUZZLE,
  solveDynamic,
} from '../../src/protocols/overlay/puzzle.js';
import { SeededRandom } from '../../src/util/random.js';
import { sha256 } from '../../src/util/sha256.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('overlay puzzles', () => {
  it('counts leading zero bits', () => {
    assert.equal(leadingZeroBits(bytes(0x80)), 0);
    assert.equal(leadingZeroBits(bytes(0x01)), 7);
    assert.equal(leadingZeroBits(bytes(0, 0x3f)), 10);
    assert.equal(leadingZeroBits(bytes(0, 0)), 16);
  });

  it('solves the dynamic puzzle so that SHA-256(id XOR X) has the leading zeros asked for', () => {
    const random = new SeededRandom(7);
    for (const bits of [1, 4, 8, 12]) {
      const id = random.bytes(32);
      const x = solveDynamic(id, bits);
      const mixed = id.map((b, i) => b ^ (x[i] as number));
      assert.ok(leadingZeroBits(sha256(mixed)) >= bits, `bits=${bits}`);
      assert.equal(checkDynamic(id, x, bits), true);
      // Deterministic: the same id gives the same answer.
      assert.deepEqual(solveDynamic(id, bits), x);
    }
  });

  it('refuses wrong solutions; at 0 bits any 32-byte X passes and the answer is all zeros', () => {
    const random = new SeededRandom(8);
    const id = random.bytes(32);
    const x = solveDynamic(id, 12);
    const wrong = x.slice();
    wrong[31] = (wrong[31] as number) ^ 1;
    // A one-bit change passes 12 bits with probability 2^-12; this seed is one where it does not.
    assert.equal(checkDynamic(id, wrong, 12), false);
    assert.equal(checkDynamic(id, x.subarray(1), 0), false, 'wrong length');
    assert.deepEqual(solveDynamic(id, 0), new Uint8Array(32));
    assert.equal(checkDynamic(id, random.bytes(32), 0), true);
  });

  it('checkPuzzles names what failed', () => {
    const identity = OverlayIdentity.generate({
      staticBits: 6,
      dynamicBits: 10,
      random: new SeededRandom(1),
    });
    const difficulty = { staticBits: 6, dynamicBits: 10 };
    assert.equal(checkPuzzles(identity.publicKey, identity.puzzle, difficulty), undefined);
    assert.ok(leadingZeroBits(sha256(identity.id)) >= 6);
    assert.match(checkPuzzles(identity.publicKey.subarray(1), identity.puzzle, difficulty) ?? '', /33/);
    assert.match(checkPuzzles(identity.publicKey, identity.puzzle.subarray(1), difficulty) ?? '', /32/);
    const x = identity.puzzle.slice();
    x[0] = (x[0] as number) ^ 0x80;
    assert.match(checkPuzzles(identity.publicKey, x, difficulty) ?? '', /dynamic puzzle/);
    // A key that misses the static puzzle: find one among a few 0/0 identities.
    const random = new SeededRandom(2);
    let weak: OverlayIdentity | undefined;
    for (let i = 0; i < 64 && !weak; i++) {
      const candidate = OverlayIdentity.generate({ ...NO_PUZZLE, random });
      if (!checkStatic(candidate.id, 6)) weak = candidate;
    }
    assert.ok(weak);
    assert.match(checkPuzzles(weak.publicKey, solveDynamic(weak.id, 10), difficulty) ?? '', /static puzzle/);
  });

  it('checks 20,000 contacts (at 0/0 and at 4/8, every hash taken) in well under 5 s', () => {
    const identity = OverlayIdentity.generate({ staticBits: 4, dynamicBits: 8, random: new SeededRandom(3) });
    const start = performance.now();
    for (let i = 0; i < 10_000; i++) {
      assert.equal(checkPuzzles(identity.publicKey, identity.puzzle, NO_PUZZLE), undefined);
    }
    for (let i = 0; i < 10_000; i++) {
      assert.equal(
        checkPuzzles(identity.publicKey, identity.puzzle, { staticBits: 4, dynamicBits: 8 }),
        undefined,
      );
    }
    assert.ok(performance.now() - start < 5_000, 'puzzle checks are too slow');
  });

  it('refuses a difficulty out of range', () => {
    assert.throws(() => OverlayIdentity.generate({ staticBits: -1, dynamicBits: 0 }), /staticBits/);
    assert.throws(() => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 1.5 }), /dynamicBits/);
    assert.throws(() => solveDynamic(new Uint8Array(32), 41), /dynamicBits/);
  });
});

describe('overlay identity', () => {
  it('derives a 33-byte compressed key, id = SHA-256(key), and signs 65 bytes that verify', () => {
    const identity = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(4) });
    assert.equal(identity.publicKey.length, PUBLIC_KEY_BYTES);
    assert.ok(identity.publicKey[0] === 2 || identity.publicKey[0] === 3);
    assert.deepEqual(identity.id, sha256(identity.publicKey));
    assert.deepEqual(overlayIdOf(identity.publicKey), identity.id);
    const payload = new TextEncoder().encode('payload');
    const sig = identity.sign(payload);
    assert.equal(sig.length, SIGNATURE_BYTES);
    assert.ok((sig[64] as number) < 4);
    assert.equal((sig[32] as number) >> 7, 0, 'low S');
    assert.equal(verifyPayload(identity.publicKey, payload, sig), true);
    assert.deepEqual(identity.signDigest(sha256(payload)), sig);
    const other = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(5) });
    assert.equal(verifyPayload(other.publicKey, payload, sig), false, 'another key');
  });

  it('seeded generation is reproducible; fromSecretKey restores the same identity', () => {
    const a = OverlayIdentity.generate({ staticBits: 2, dynamicBits: 4, random: new SeededRandom(9) });
    const b = OverlayIdentity.generate({ staticBits: 2, dynamicBits: 4, random: new SeededRandom(9) });
    assert.deepEqual(a.publicKey, b.publicKey);
    const restored = OverlayIdentity.fromSecretKey(a.exportSecretKey(), { dynamicBits: 4 });
    assert.deepEqual(restored.publicKey, a.publicKey);
    assert.deepEqual(restored.puzzle, a.puzzle);
    const withPuzzle = OverlayIdentity.fromSecretKey(a.exportSecretKey(), {
      puzzle: a.puzzle,
      dynamicBits: 4,
    });
    assert.deepEqual(withPuzzle.puzzle, a.puzzle);
  });

  it('fromSecretKey refuses bad keys, unmet static puzzles and wrong stored puzzles', () => {
    assert.throws(() => OverlayIdentity.fromSecretKey(new Uint8Array(32)), /secret key/);
    assert.throws(() => OverlayIdentity.fromSecretKey(new Uint8Array(31).fill(1)), /secret key/);
    const n = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex');
    assert.throws(() => OverlayIdentity.fromSecretKey(n), /secret key/);
    const random = new SeededRandom(11);
    let weak: OverlayIdentity | undefined;
    for (let i = 0; i < 64 && !weak; i++) {
      const candidate = OverlayIdentity.generate({ ...NO_PUZZLE, random });
      if (!checkStatic(candidate.id, 8)) weak = candidate;
    }
    assert.ok(weak);
    assert.throws(
      () => OverlayIdentity.fromSecretKey(weak.exportSecretKey(), { staticBits: 8 }),
      PuzzleError,
    );
    const bad = solveDynamic(weak.id, 12);
    bad[0] = (bad[0] as number) ^ 0x80;
    assert.throws(
      () => OverlayIdentity.fromSecretKey(weak.exportSecretKey(), { puzzle: bad, dynamicBits: 12 }),
      PuzzleError,
    );
  });

  it('keeps the secret key out of inspection and JSON', () => {
    const identity = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(12) });
    const secret = Buffer.from(identity.exportSecretKey()).toString('hex');
    assert.ok(!JSON.stringify(identity).includes(secret.slice(0, 16)));
    assert.ok(
      !inspect(identity, { depth: 5 }).includes(
        Array.from(identity.exportSecretKey().slice(0, 4)).join(', '),
      ),
    );
  });

  it('verifyDigest never throws on garbage', () => {
    const random = new SeededRandom(13);
    const identity = OverlayIdentity.generate({ ...NO_PUZZLE, random });
    for (let i = 0; i < 300; i++) {
      const sig = random.bytes(random.int(3) === 0 ? random.int(70) : 65);
      if (sig.length === 65) sig[64] = random.int(5);
      assert.equal(verifyDigest(identity.publicKey, random.bytes(32), sig), false);
      assert.equal(verifyDigest(random.bytes(33), random.bytes(32), sig), false);
    }
    const zeros = new Uint8Array(65);
    assert.equal(verifyDigest(identity.publicKey, new Uint8Array(32), zeros), false, 'r = s = 0');
  });

  it('the cache of good signatures answers as a fresh check does, for the exact bytes only', () => {
    const random = new SeededRandom(21);
    const identity = OverlayIdentity.generate({ ...NO_PUZZLE, random });
    const other = OverlayIdentity.generate({ ...NO_PUZZLE, random });
    const digest = random.bytes(32);
    const sig = identity.signDigest(digest);
    // Twice: a recovery, then a cache hit; neither may differ.
    assert.equal(verifyDigest(identity.publicKey, digest, sig), true);
    assert.equal(verifyDigest(identity.publicKey, digest, sig), true);
    // A cached success never lets a neighbour of its bytes through.
    const flipped = sig.slice();
    flipped[10] = (flipped[10] as number) ^ 1;
    assert.equal(verifyDigest(identity.publicKey, digest, flipped), false);
    assert.equal(verifyDigest(other.publicKey, digest, sig), false);
    const otherDigest = digest.slice();
    otherDigest[0] = (otherDigest[0] as number) ^ 1;
    assert.equal(verifyDigest(identity.publicKey, otherDigest, sig), false);
    // With the cache off, and at a size of one, answers stay the same.
    setSignatureCacheSize(0);
    assert.equal(verifyDigest(identity.publicKey, digest, sig), true);
    assert.equal(verifyDigest(identity.publicKey, digest, flipped), false);
    setSignatureCacheSize(1);
    assert.equal(verifyDigest(identity.publicKey, digest, sig), true);
    assert.equal(verifyDigest(identity.publicKey, otherDigest, identity.signDigest(otherDigest)), true);
    assert.equal(verifyDigest(identity.publicKey, digest, sig), true);
    assert.throws(() => setSignatureCacheSize(-1), /whole number/);
    setSignatureCacheSize(SIGNATURE_CACHE_SIZE);
  });

  it('simulatedBatch makes valid, distinct, reproducible identities much faster than generate', () => {
    const start = performance.now();
    const batch = OverlayIdentity.simulatedBatch(2000, new SeededRandom(15));
    const ms = performance.now() - start;
    assert.equal(batch.length, 2000);
    assert.equal(new Set(batch.map((i) => Buffer.from(i.id).toString('hex'))).size, 2000);
    for (const i of [0, 1, 999, 1999]) {
      const identity = batch[i] as OverlayIdentity;
      // The public key is the one the secret key gives, and signatures verify.
      const restored = OverlayIdentity.fromSecretKey(identity.exportSecretKey(), { dynamicBits: 0 });
      assert.deepEqual(restored.publicKey, identity.publicKey);
      assert.deepEqual(identity.id, sha256(identity.publicKey));
      assert.equal(
        verifyPayload(identity.publicKey, Uint8Array.of(i), identity.sign(Uint8Array.of(i))),
        true,
      );
      assert.equal(checkPuzzles(identity.publicKey, identity.puzzle, NO_PUZZLE), undefined);
    }
    const again = OverlayIdentity.simulatedBatch(3, new SeededRandom(15));
    assert.deepEqual(again[2]?.publicKey, batch[2]?.publicKey);
    assert.throws(() => OverlayIdentity.simulatedBatch(-1, new SeededRandom(1)), /0 to/);
    assert.ok(ms < 20_000, `2,000 simulated identities took ${ms} ms`);
  });

  it('makes 1,000 ids at difficulty 0/0 quickly (the simulator makes 10,000)', () => {
    const random = new SeededRandom(14);
    const start = performance.now();
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      ids.add(Buffer.from(OverlayIdentity.generate({ ...NO_PUZZLE, random }).id).toString('hex'));
    }
    assert.equal(ids.size, 1000);
    assert.ok(performance.now() - start < 20_000, 'key generation at 0/0 is too slow');
  });
});
