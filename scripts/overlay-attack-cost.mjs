#!/usr/bin/env node
/**
 * What an overlay attacker pays for its ids, measured in JavaScript on this machine (noble
 * secp256k1, kadmium's SHA-256): docs/SECURITY.md, "Overlay: what ids cost an attacker".
 *
 *   nice -n 10 node scripts/overlay-attack-cost.mjs [--ids 8] [--bits 4,8]
 *
 * - a Sybil id at the default difficulty (OverlayIdentity.generate: 2^static keys, 2^dynamic hashes);
 * - the point walk a grinder uses (one point addition + SHA-256 per key): keys per second;
 * - a placed id (sharing `bits` leading bits with a target) with and without the static puzzle.
 * Prints one JSON object.
 */
import { parseArgs } from 'node:util';
import { OverlayIdentity } from '../dist/src/protocols/overlay/identity.js';
import { DEFAULT_PUZZLE_DIFFICULTY, NO_PUZZLE } from '../dist/src/protocols/overlay/puzzle.js';
import { grindNear } from '../dist/src/sim/overlay-adversary.js';
import { SeededRandom } from '../dist/src/util/random.js';

const { values } = parseArgs({
  options: { ids: { type: 'string', default: '8' }, bits: { type: 'string', default: '4,8' } },
});
const ids = Number(values.ids);
const random = new SeededRandom(42);
const seconds = (t0) => (performance.now() - t0) / 1000;

// Sybil ids at the defaults, drawn the way an honest node draws its own.
const sybil = [];
for (let i = 0; i < ids; i++) {
  const t0 = performance.now();
  OverlayIdentity.generate({ ...DEFAULT_PUZZLE_DIFFICULTY, random });
  sybil.push(seconds(t0));
}

// The grinder's walk without a prefix to meet: 2^14 keys at 14 bits of anything.
const target = new Uint8Array(32);
const walk = [];
for (let i = 0; i < Math.max(1, ids / 2); i++) {
  const t0 = performance.now();
  const { tries } = grindNear(target, 12, random);
  walk.push({ tries, s: seconds(t0) });
}
const walkKeysPerSec = walk.reduce((a, w) => a + w.tries, 0) / walk.reduce((a, w) => a + w.s, 0);

const placed = [];
for (const bits of values.bits.split(',').map(Number)) {
  for (const [name, difficulty] of [
    ['none', NO_PUZZLE],
    ['default', DEFAULT_PUZZLE_DIFFICULTY],
  ]) {
    let tries = 0;
    const t0 = performance.now();
    for (let i = 0; i < ids; i++) tries += grindNear(random.bytes(32), bits, random, difficulty).tries;
    placed.push({
      bits,
      puzzle: name,
      ids,
      meanTries: Math.round(tries / ids),
      meanSeconds: seconds(t0) / ids,
    });
  }
}

const sorted = [...sybil].sort((a, b) => a - b);
console.log(
  JSON.stringify(
    {
      difficulty: DEFAULT_PUZZLE_DIFFICULTY,
      sybilId: {
        ids,
        meanSeconds: sybil.reduce((a, b) => a + b, 0) / ids,
        medianSeconds: sorted[Math.floor(ids / 2)],
      },
      walkKeysPerSec: Math.round(walkKeysPerSec),
      placed,
    },
    null,
    2,
  ),
);
