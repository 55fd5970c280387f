/** `kadmium daemon` overlay flags: a bad --overlay-bootstrap or difficulty fails at once, exit 2, naming the key. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from './helpers.js';

describe('kadmium daemon overlay flags', () => {
  it('refuses a bootstrap entry without a public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kadmium-cli-ov-'));
    const r = await run(['daemon', '--data-dir', dir, '--overlay', '--overlay-bootstrap', '127.0.0.1:7900']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /overlay\.bootstrap \(flag\): "127\.0\.0\.1:7900" is not PUBKEY@HOST:PORT/);
  });

  it('lists the overlay flags in --help', async () => {
    const r = await run(['daemon', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--overlay-bootstrap PK@HOST:PORT/);
    assert.match(r.stdout, /--overlay-port N/);
  });
});
