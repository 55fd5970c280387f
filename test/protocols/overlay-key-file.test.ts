import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OverlayIdentity, PuzzleError } from '../../src/protocols/overlay/identity.js';
import { KeyFileError, loadKeyFile, saveKeyFile } from '../../src/protocols/overlay/key-file.js';
import { checkDynamic, NO_PUZZLE } from '../../src/protocols/overlay/puzzle.js';
import { SeededRandom } from '../../src/util/random.js';
import { sha256 } from '../../src/util/sha256.js';

const alice = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(21) });
const bob = OverlayIdentity.generate({ ...NO_PUZZLE, random: new SeededRandom(22) });

describe('overlay key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-overlay-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('saves mode 0600 atomically and loads the same identity', () => {
    const path = join(dir, 'node.key');
    const identity = OverlayIdentity.generate({
      staticBits: 2,
      dynamicBits: 6,
      random: new SeededRandom(30),
    });
    saveKeyFile(path, identity);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['node.key'], 'no temporary file left behind');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(doc).sort(), ['publicKey', 'puzzle', 'secretKey']);
    const loaded = loadKeyFile(path, { staticBits: 2, dynamicBits: 6 });
    assert.deepEqual(loaded.publicKey, identity.publicKey);
    assert.deepEqual(loaded.puzzle, identity.puzzle);
    assert.deepEqual(loaded.exportSecretKey(), identity.exportSecretKey());
    // Overwrite in place: still 0600, still one file.
    saveKeyFile(path, alice);
    assert.deepEqual(loadKeyFile(path).publicKey, alice.publicKey);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('refuses a file that group or others can read', () => {
    const path = join(dir, 'open.key');
    saveKeyFile(path, alice);
    for (const mode of [0o640, 0o604, 0o644]) {
      chmodSync(path, mode);
      assert.throws(
        () => loadKeyFile(path),
        (err: unknown) => {
          assert.ok(err instanceof KeyFileError);
          assert.match(err.message, /chmod 600/);
          return true;
        },
      );
    }
    chmodSync(path, 0o600);
    assert.deepEqual(loadKeyFile(path).publicKey, alice.publicKey);
  });

  it('refuses missing, damaged and mismatched files with what to do', () => {
    assert.throws(() => loadKeyFile(join(dir, 'absent.key')), /kadmium overlay keygen/);
    const path = join(dir, 'bad.key');
    const write = (body: string): void => {
      rmSync(path, { force: true });
      writeFileSync(path, body, { mode: 0o600 });
    };
    write('not json');
    assert.throws(() => loadKeyFile(path), KeyFileError);
    write(JSON.stringify({ secretKey: 'zz', publicKey: '', puzzle: '' }));
    assert.throws(() => loadKeyFile(path), /secretKey/);
    const good = JSON.parse(readFileSync(join(dir, 'node.key'), 'utf8')) as Record<string, string>;
    write(JSON.stringify({ ...good, publicKey: Buffer.from(bob.publicKey).toString('hex') }));
    assert.throws(() => loadKeyFile(path), /does not belong/);
  });

  it('enforces the static puzzle and re-solves a stale dynamic one', () => {
    const path = join(dir, 'weak.key');
    const random = new SeededRandom(31);
    let weak: OverlayIdentity | undefined;
    for (let i = 0; i < 64 && !weak; i++) {
      const candidate = OverlayIdentity.generate({ ...NO_PUZZLE, random });
      if (sha256(candidate.id)[0] !== 0) weak = candidate;
    }
    assert.ok(weak);
    saveKeyFile(path, weak);
    assert.throws(() => loadKeyFile(path, { staticBits: 8, dynamicBits: 0 }), PuzzleError);
    const raised = loadKeyFile(path, { staticBits: 0, dynamicBits: 10 });
    assert.equal(checkDynamic(raised.id, raised.puzzle, 10), true);
  });
});
