import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keypairFromSeed } from '../../src/protocols/mainline/bep44.js';
import { UniversalClient } from '../../src/universal/client.js';
import { createHyperswarmTestnet } from '../../src/universal/adapters/hyperswarm.js';
import { infohashFromName } from '../../src/universal/keys.js';
import { verifyRecord } from '../../src/universal/records.js';
import type { PeerResult, RecordResult } from '../../src/universal/types.js';
import { optionalImport } from './optional.js';

const { importModule } = await optionalImport('hyperdht');

describe('universal client on a hyperdht testnet', { timeout: 60_000 }, () => {
  let net: Awaited<ReturnType<typeof createHyperswarmTestnet>> | undefined;
  let alice: UniversalClient | undefined;
  let bob: UniversalClient | undefined;

  before(async () => {
    net = await createHyperswarmTestnet(5, { importModule });
    alice = await UniversalClient.create({
      hyperswarm: { bootstrap: net.bootstrap },
      keyPair: keypairFromSeed(new Uint8Array(32).fill(1)),
      importModule,
    });
    bob = await UniversalClient.create({ hyperswarm: { bootstrap: net.bootstrap }, importModule });
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await net?.destroy();
  });

  it('finds, through the universal client, a peer announced on the topic of an infohash', async () => {
    const infohash = infohashFromName('hyperswarm-announce');
    const [outcome] = await alice!.announce(infohash);
    assert.equal(outcome?.ok, true, String(outcome?.error));
    const peers: PeerResult[] = [];
    for await (const r of bob!.findPeers(infohash, { timeoutMs: 20_000 })) {
      assert.notEqual(r.kind, 'failure', r.kind === 'failure' ? r.error.message : '');
      if (r.kind === 'peer') peers.push(r);
    }
    assert.ok(
      peers.some((p) => p.network === 'hyperswarm' && Buffer.from(p.id!).equals(alice!.keyPair.publicKey)),
    );
  });

  it('gets a mutable record put by another client, with a signature that verifies', async () => {
    const value = new TextEncoder().encode('hello from hyperswarm');
    const [put] = await alice!.putRecord(value);
    assert.equal(put?.ok, true, String(put?.error));
    const got: RecordResult[] = [];
    for await (const r of bob!.getRecord({ publicKey: alice!.keyPair.publicKey }))
      if (r.kind === 'record') got.push(r);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.record.value, value);
    assert.deepEqual(await verifyRecord(got[0]!.record, importModule), { ok: true });
    const forged = { ...got[0]!.record, value: new TextEncoder().encode('forged') };
    assert.equal((await verifyRecord(forged, importModule)).ok, false);
  });

  it('refuses what hyperdht cannot do with UNSUPPORTED', async () => {
    assert.throws(() => bob!.findNode(new Uint8Array(32)), { code: 'UNSUPPORTED' });
    assert.throws(() => bob!.findPeers(infohashFromName('x'), { networks: ['ipfs'] }), {
      code: 'NOT_CONFIGURED',
    });
  });
});
