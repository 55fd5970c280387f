/**
 * One to three random edits of a JSON message (delete, insert or overwrite a byte from `alphabet`,
 * or truncate), for the tests that hold a fast decoder to the total one on mutants.
 */
import type { Random } from '../../src/util/random.js';

/** `truncateOneIn`: a fourth-kind edit truncates only one time in this many (1: always). */
export function mutateJson(
  original: Uint8Array,
  random: Random,
  alphabet: Uint8Array,
  truncateOneIn = 8,
): Uint8Array {
  const bytes = Array.from(original);
  for (let e = 1 + random.int(3); e > 0; e--) {
    const at = random.int(bytes.length + 1);
    const ch = alphabet[random.int(alphabet.length)] as number;
    const op = random.int(4);
    if (op === 0) bytes.splice(at, 1);
    else if (op === 1) bytes.splice(at, 0, ch);
    else if (op === 2) bytes[at] = ch;
    else if (truncateOneIn === 1 || random.int(truncateOneIn) === 0) bytes.length = at;
  }
  return Uint8Array.from(bytes);
}
