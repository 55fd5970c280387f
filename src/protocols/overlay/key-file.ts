/**
 * Overlay key files: JSON with the hex secret key, public key and puzzle solution, mode 0600.
 *
 * Written to a temporary file in the same directory (created 0600, flushed) and renamed over the
 * target, so a crash leaves the old key or the new one, never half of one, and the secret is never
 * readable by others even for a moment. The loader refuses a file that group or others can read:
 * the key is the node's identity and signs its items.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromHex, toHex } from '../../util/bytes.js';
import { KadmiumError } from '../../util/errors.js';
import { decodeJson, type JsonObject, stringifyJson } from '../../wire/json.js';
import { OverlayIdentity, PuzzleError } from './identity.js';
import { checkDynamic, type PuzzleDifficulty, PUZZLE_BYTES, solveDynamic } from './puzzle.js';

/** Key files are a few hundred bytes; anything much larger is not one. */
export const KEY_FILE_MAX_BYTES = 64 * 1024;

export interface OverlayKeyFile {
  /** 32-byte secp256k1 secret key, 64 hex characters. Keep secret. */
  secretKey: string;
  /** 33-byte compressed public key, 66 hex characters. */
  publicKey: string;
  /** 32-byte dynamic-puzzle solution, 64 hex characters. */
  puzzle: string;
}

export class KeyFileError extends KadmiumError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_FILE', message, options);
  }
}

let tmpCounter = 0;

/** Write `identity` to `path` atomically, mode 0600 (replacing any file there). */
export function saveKeyFile(path: string, identity: OverlayIdentity): void {
  const doc: OverlayKeyFile = {
    secretKey: toHex(identity.exportSecretKey()),
    publicKey: toHex(identity.publicKey),
    puzzle: toHex(identity.puzzle),
  };
  const text = `${stringifyJson({ ...doc })}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tmpCounter}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new KeyFileError(`cannot write key file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Read an identity from `path`. With a difficulty, the key must meet its static puzzle, and a
 * stored solution that no longer meets its dynamic puzzle is solved again (save the identity to
 * keep the new one).
 */
export function loadKeyFile(path: string, difficulty?: PuzzleDifficulty): OverlayIdentity {
  let text: string;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new KeyFileError(
        `key file ${path} does not exist; create one with: kadmium overlay keygen --out ${path}`,
      );
    }
    throw new KeyFileError(`cannot open key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // fstat the open file, not the path, so the mode checked is the mode of the bytes read.
    const stat = fstatSync(fd);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new KeyFileError(
        `key file ${path} is readable by group or others (mode ${(stat.mode & 0o777).toString(8)}); ` +
          `run: chmod 600 ${path} (and consider the key exposed if others could read it)`,
      );
    }
    if (stat.size > KEY_FILE_MAX_BYTES) {
      throw new KeyFileError(
        `key file ${path} is ${stat.size} bytes; a key file is under 1 KiB. Wrong file?`,
      );
    }
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const parsed = decodeJson(text, { maxBytes: KEY_FILE_MAX_BYTES });
  if (
    !parsed.ok ||
    parsed.value === null ||
    typeof parsed.value !== 'object' ||
    Array.isArray(parsed.value)
  ) {
    throw new KeyFileError(`key file ${path} is not a JSON object; create one with kadmium overlay keygen`);
  }
  const doc = parsed.value as JsonObject;
  const secretKey = hexField(doc, 'secretKey', 32, path);
  const publicKey = hexField(doc, 'publicKey', 33, path);
  const puzzle = hexField(doc, 'puzzle', PUZZLE_BYTES, path);
  let identity: OverlayIdentity;
  try {
    identity = OverlayIdentity.fromSecretKey(secretKey, {
      puzzle,
      ...(difficulty ? { staticBits: difficulty.staticBits } : {}),
    });
  } catch (err) {
    if (err instanceof PuzzleError) throw err;
    throw new KeyFileError(`key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (toHex(identity.publicKey) !== toHex(publicKey)) {
    throw new KeyFileError(
      `key file ${path}: "publicKey" does not belong to "secretKey"; the file is damaged`,
    );
  }
  if (difficulty && !checkDynamic(identity.id, puzzle, difficulty.dynamicBits)) {
    return OverlayIdentity.fromSecretKey(secretKey, {
      dynamicBits: difficulty.dynamicBits,
      puzzle: solveDynamic(identity.id, difficulty.dynamicBits),
    });
  }
  return identity;
}

function hexField(doc: JsonObject, name: string, bytes: number, path: string): Uint8Array {
  const value = doc[name];
  const parsed = typeof value === 'string' ? fromHex(value) : undefined;
  if (!parsed || parsed.length !== bytes) {
    throw new KeyFileError(`key file ${path} has no valid "${name}" (${bytes * 2} hex characters)`);
  }
  return parsed;
}
