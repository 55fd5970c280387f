import { randomBytes } from 'node:crypto';
import { keypairFromSeed } from '../../protocols/mainline/bep44.js';
import { toHex } from '../../util/bytes.js';
import { rmSync } from 'node:fs';
import { parse, UsageError } from '../args.js';
import { overlay } from './overlay.js';
import { writeKeyFile } from '../keys.js';
import { createOutput } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  overlay: { type: 'boolean' },
  difficulty: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const keygen: Command = {
  name: 'keygen',
  summary: 'create an ed25519 key file for publishing mutable items (BEP 44)',
  help: `Usage: kadmium keygen [--out FILE] [--force]

Creates an ed25519 key pair and writes it to FILE (default kadmium.key) as JSON, readable
only by you. The public key identifies your mutable items: kadmium put --mutable --key FILE.

  -o, --out FILE             where to write the key (default kadmium.key)
      --force                overwrite FILE if it exists
      --overlay              a secp256k1 key for the overlay instead (the same as
                             kadmium overlay keygen), meeting the network's puzzles
      --difficulty S/D       with --overlay: puzzle bits (default 10/16)
      --json                 print {"file", "publicKey"} as JSON

Examples:
  kadmium keygen --out alice.key
  kadmium keygen --overlay --out node.key`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    if (values.overlay) {
      const args = ['keygen', '--out', values.out ?? 'overlay.key'];
      if (values.difficulty) args.push('--difficulty', values.difficulty);
      if (values.json) args.push('--json');
      if (values.force) rmSync(values.out ?? 'overlay.key', { force: true });
      return overlay.run(args);
    }
    if (values.difficulty) throw new UsageError('--difficulty goes with --overlay');
    const out = createOutput(values.json ?? false);
    const file = values.out ?? 'kadmium.key';
    const keyPair = keypairFromSeed(new Uint8Array(randomBytes(32)));
    writeKeyFile(file, keyPair, values.force ?? false);
    out.line(`wrote ${file}; public key ${toHex(keyPair.publicKey)}`);
    out.result({ file, publicKey: toHex(keyPair.publicKey) });
    return 0;
  },
};
