import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { createOverlayTestnet, type OverlayTestnet } from '../../src/node/overlay-tcp.js';
import { keypairFromSeed } from '../../src/protocols/mainline/bep44.js';
import { UniversalClient } from '../../src/universal/client.js';
import { infohashFromName } from '../../src/universal/keys.js';
import { verifyRecord } from '../../src/universal/records.js';
import type { PeerResult, RecordResult } from '../../src/universal/types.js';
import { startAll } from './optional.js';

describe('universal client on kadmium Mainline and overlay testnets', { timeout: 60_000 }, () => {
  const nets: { destroy(): Promise<void> }[] = [];
  let mainline: Testnet | undefined;
  let overlay: OverlayTestnet | undefined;
  let alice: UniversalClient | undefined;
  let bob: UniversalClient | undefined;

  before(async () => {
    [mainline, overlay] = await startAll(nets, [createTestnet(8), createOverlayTestnet(6)]);
    const config = { mainline: { bootstrap: mainline.bootstrap }, overlay: { bootstrap: overlay.bootstrap } };
    alice = await UniversalClient.create({ ...config, keyPair: keypairFromSeed(new Uint8Array(32).fill(9)) });
    bob = await UniversalClient.create(config);
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await Promise.allSettled(nets.map((n) => n.destroy()));
  });

  it('lists each network with what it can do', () => {
    assert.deepEqual(bob!.networks, ['mainline', 'overlay']);
    const caps = bob!.capabilities();
    assert.equal(caps.mainline?.findPeers, true);
    assert.equal(caps.overlay?.findPeers, false);
    assert.equal(caps.overlay?.putRecord, true);
  });

  it('finds a Mainline announce (the overlay, which keeps no peers, is not asked)', async () => {
    const infohash = infohashFromName('mainline-announce');
    const outcomes = await alice!.announce(infohash);
    assert.deepEqual(
      outcomes.map((o) => [o.network, o.ok]),
      [['mainline', true]],
    );
    const peers: PeerResult[] = [];
    for await (const r of bob!.findPeers(infohash)) if (r.kind === 'peer') peers.push(r);
    assert.ok(peers.length >= 1);
    assert.ok(
      peers.every((p) => p.network === 'mainline' && /^127\.0\.0\.1:\d+$/.test(p.addresses[0] ?? '')),
    );
  });

  it('puts a record on both networks at once and gets each back, tagged and verifiable', async () => {
    const salt = new TextEncoder().encode('profile');
    const value = new TextEncoder().encode('one put, two networks');
    const puts = await alice!.putRecord(value, { salt });
    assert.deepEqual(
      puts.map((p) => [p.network, p.ok, p.error?.message]),
      [
        ['mainline', true, undefined],
        ['overlay', true, undefined],
      ],
    );
    for (const put of puts) {
      const got: RecordResult[] = [];
      for await (const r of bob!.getRecord(
        { publicKey: put.record!.publicKey, salt },
        { networks: [put.network] },
      ))
        if (r.kind === 'record') got.push(r);
      assert.equal(got.length, 1, put.network);
      assert.equal(got[0]!.network, put.network);
      assert.deepEqual(got[0]!.record.value, value);
      assert.deepEqual(await verifyRecord(got[0]!.record), { ok: true });
    }
  });

  it('stops every network when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    const results = [];
    for await (const r of bob!.findPeers(infohashFromName('aborted'), { signal: controller.signal }))
      results.push(r);
    assert.ok(results.every((r) => r.kind === 'failure'));
  });
});
