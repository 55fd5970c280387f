/** Key files for BEP 44 publishing: JSON with the 32-byte ed25519 seed and the public key, mode 0600. */
import { readFileSync, writeFileSync } from 'node:fs';
import { type Ed25519Keypair, keypairFromSeed } from '../protocols/mainline/bep44.js';
import { fromHex, toHex } from '../util/bytes.js';
import { UsageError } from './args.js';

export interface KeyFile {
  /** ed25519 seed (the private key), 64 hex characters. Keep secret. */
  seed: string;
  /** ed25519 public key, 64 hex characters. */
  publicKey: string;
}

export function writeKeyFile(path: string, keyPair: Ed25519Keypair, overwrite: boolean): void {
  const doc: KeyFile = { seed: toHex(keyPair.seed), publicKey: toHex(keyPair.publicKey) };
  try {
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: overwrite ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${path} already exists; pass --force to overwrite it`);
    throw new UsageError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

export function readKeyFile(path: string): Ed25519Keypair {
  let doc: Partial<KeyFile>;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<KeyFile>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new UsageError(`key file ${path} does not exist; create one with: kadmium keygen --out ${path}`);
    throw new UsageError(`key file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const seed = typeof doc.seed === 'string' ? fromHex(doc.seed) : undefined;
  if (!seed || seed.length !== 32) {
    throw new UsageError(
      `key file ${path} has no valid "seed" (64 hex characters); create one with kadmium keygen`,
    );
  }
  const keyPair = keypairFromSeed(seed);
  if (doc.publicKey !== undefined && doc.publicKey !== toHex(keyPair.publicKey)) {
    throw new UsageError(`key file ${path}: "publicKey" does not belong to "seed"; the file is damaged`);
  }
  return keyPair;
}
