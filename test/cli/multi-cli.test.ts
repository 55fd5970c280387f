import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import {
  createOverlayTestnet,
  formatOverlayBootstrap,
  type OverlayTestnet,
} from '../../src/node/overlay-tcp.js';
import { keypairFromSeed } from '../../src/protocols/mainline/bep44.js';
import { toHex } from '../../src/util/bytes.js';
import { UniversalClient } from '../../src/universal/client.js';
import { federationToJson, signFederationList } from '../../src/universal/federation.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './helpers.js';
import { startAll } from '../universal/optional.js';

describe('kadmium multi', { timeout: 60_000 }, () => {
  const nets: { destroy(): Promise<void> }[] = [];
  let mainline: Testnet | undefined;
  let overlay: OverlayTestnet | undefined;
  let publisher: UniversalClient | undefined;

  before(async () => {
    [mainline, overlay] = await startAll(nets, [createTestnet(8), createOverlayTestnet(5)]);
    publisher = await UniversalClient.create({
      mainline: { bootstrap: mainline.bootstrap },
      overlay: { bootstrap: overlay.bootstrap },
      keyPair: keypairFromSeed(new Uint8Array(32).fill(0x33)),
    });
  });
  after(async () => {
    await publisher?.close();
    await Promise.allSettled(nets.map((n) => n.destroy()));
  });

  it('peers --name finds a Mainline announce; --json is one document tagged by network', async () => {
    const { infohashFromName } = await import('../../src/universal/keys.js');
    await publisher!.announce(infohashFromName('cli-swarm'));
    const r = await run([
      'multi',
      'peers',
      '--name',
      'cli-swarm',
      '--mainline',
      mainline!.bootstrap[0]!,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { networks: string[]; results: { kind: string; network: string }[] };
    assert.deepEqual(doc.networks, ['mainline']);
    assert.ok(doc.results.some((x) => x.kind === 'peer' && x.network === 'mainline'));
  });

  it('get reads a record on both networks from a federation file', async () => {
    const puts = await publisher!.putRecord(new TextEncoder().encode('from the cli'), {
      salt: new TextEncoder().encode('s'),
    });
    assert.ok(puts.every((p) => p.ok));
    const list = signFederationList(
      keypairFromSeed(new Uint8Array(32).fill(0x44)),
      {
        networks: { mainline: mainline!.bootstrap, overlay: overlay!.bootstrap.map(formatOverlayBootstrap) },
        peers: [],
      },
      1,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'kadmium-fed-')), 'federation.json');
    writeFileSync(file, federationToJson(list));
    const r = await run([
      'multi',
      'get',
      toHex(publisher!.keyPair.publicKey),
      '--salt',
      's',
      '--federation',
      file,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^mainline\trecord\tseq \d+\tfrom the cli$/m);
  });

  it('says what to give when no network is named', async () => {
    const r = await run(['multi', 'peers', '--name', 'x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /at least one network bootstrap/);
  });
});
