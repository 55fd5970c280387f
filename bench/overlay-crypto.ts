/**
 * The overlay's pure building blocks, per operation on one core: secp256k1 key generation, item
 * signing and verification, puzzle checks and solves, identity generation at the default
 * difficulty, and the JSON codec on a typical PutValue (beside JSON.parse / JSON.stringify as a
 * yardstick). Run alone: `node dist/bench/overlay-crypto.js [ms per row] [identities]`; the bench
 * runner imports `runOverlayCrypto`.
 */
import { pathToFileURL } from 'node:url';
import { OverlayIdentity } from '../src/protocols/overlay/identity.js';
import { signItem, verifyItem } from '../src/protocols/overlay/item.js';
import {
  decodeRequest,
  encodeRequest,
  type OverlayRequest,
  OverlayTag,
} from '../src/protocols/overlay/messages.js';
import {
  checkPuzzles,
  DEFAULT_PUZZLE_DIFFICULTY,
  NO_PUZZLE,
  solveDynamic,
} from '../src/protocols/overlay/puzzle.js';
import { SeededRandom } from '../src/util/random.js';
import { sha256 } from '../src/util/sha256.js';
import { decodeJson } from '../src/wire/json.js';
import { num, table } from './format.js';

export interface OverlayCryptoRow {
  operation: string;
  opsPerSec: number;
  usPerOp: number;
}

/** Operations per second of `op` over about `durationMs` (after a short warm-up). */
function measure(op: (i: number) => unknown, durationMs: number): number {
  for (let i = 0; i < 20; i++) op(i);
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    op(n++);
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

export function runOverlayCrypto(
  durationMs = 1500,
  identities = 3,
): { rows: OverlayCryptoRow[]; text: string; expected: { staticMs: number; dynamicMs: number } } {
  const random = new SeededRandom(1);
  const identity = OverlayIdentity.generate({ ...NO_PUZZLE, random });
  const value = random.bytes(1024);
  const salt = new TextEncoder().encode('dmsg');
  const item = signItem(identity, value, 1745000000123456789n, salt);
  const request: OverlayRequest = {
    method: 'put_value',
    senderId: identity.id,
    senderPk: identity.publicKey,
    item,
  };
  const json = encodeRequest(request);
  const jsonText = new TextDecoder().decode(json);
  const hardened = OverlayIdentity.generate({
    staticBits: 4,
    dynamicBits: DEFAULT_PUZZLE_DIFFICULTY.dynamicBits,
    random,
  });
  const ids = Array.from({ length: 64 }, () => random.bytes(32));
  const digest = random.bytes(32);

  const rates: [string, number][] = [
    [
      'keygen (secp256k1, difficulty 0/0)',
      measure(() => OverlayIdentity.generate({ ...NO_PUZZLE, random }), durationMs),
    ],
    ['sign item (1 KiB value, salt)', measure((i) => signItem(identity, value, BigInt(i), salt), durationMs)],
    ['verify item (recover + compare)', measure(() => verifyItem(item), durationMs)],
    ['SHA-256 of 32 bytes', measure(() => sha256(digest), durationMs)],
    [
      'check puzzles (default difficulty)',
      measure(() => checkPuzzles(hardened.publicKey, hardened.puzzle, DEFAULT_PUZZLE_DIFFICULTY), durationMs),
    ],
    [
      'solve dynamic puzzle, 12 bits',
      measure((i) => solveDynamic(ids[i % ids.length] as Uint8Array, 12), durationMs),
    ],
    [`PutValue JSON encode (${json.length} B)`, measure(() => encodeRequest(request), durationMs)],
    ['PutValue decode (JSON + fields)', measure(() => decodeRequest(OverlayTag.put_value, json), durationMs)],
    ['  decodeJson alone', measure(() => decodeJson(json), durationMs)],
    ['  JSON.parse (loses seq precision)', measure(() => JSON.parse(jsonText) as unknown, durationMs)],
  ];
  const rows: OverlayCryptoRow[] = rates.map(([operation, opsPerSec]) => ({
    operation,
    opsPerSec,
    usPerOp: 1e6 / opsPerSec,
  }));
  const keygenPerSec = rates[0]?.[1] ?? 0;
  const hashPerSec = rates[3]?.[1] ?? 0;
  const expected = {
    staticMs: (2 ** DEFAULT_PUZZLE_DIFFICULTY.staticBits / keygenPerSec) * 1000,
    dynamicMs: (2 ** DEFAULT_PUZZLE_DIFFICULTY.dynamicBits / hashPerSec) * 1000,
  };
  const generateMs: number[] = [];
  for (let i = 0; i < identities; i++) {
    const start = performance.now();
    OverlayIdentity.generate({ random });
    generateMs.push(performance.now() - start);
  }
  const d = DEFAULT_PUZZLE_DIFFICULTY;
  const text = [
    table([
      ['operation', 'ops/s', 'µs/op'],
      ...rows.map((r) => [r.operation, num(r.opsPerSec), num(r.usPerOp, 1)]),
    ]),
    '',
    `Identity at the default difficulty (static ${d.staticBits}, dynamic ${d.dynamicBits} bits): expected ` +
      `${num(expected.staticMs)} ms of key generation + ${num(expected.dynamicMs)} ms of hashing; ` +
      `measured ${identities} generations: ${generateMs.map((ms) => num(ms)).join(', ')} ms.`,
  ].join('\n');
  return { rows, text, expected };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { text } = runOverlayCrypto(Number(process.argv[2] ?? 1500), Number(process.argv[3] ?? 3));
  console.log(text);
}
