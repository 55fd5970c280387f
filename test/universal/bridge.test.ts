import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { createOverlayTestnet, type OverlayTestnet } from '../../src/node/overlay-tcp.js';
import { keypairFromSeed } from '../../src/protocols/mainline/bep44.js';
import { UniversalClient } from '../../src/universal/client.js';
import { createHyperswarmTestnet } from '../../src/universal/adapters/hyperswarm.js';
import {
  bridgePeers,
  bridgeRecord,
  bridgeSalt,
  decodeBridged,
  encodeBridged,
  readBridged,
  readBridgedPeers,
} from '../../src/universal/bridge.js';
import { infohashFromName } from '../../src/universal/keys.js';
import type { PeerResult, RecordResult } from '../../src/universal/types.js';
import { optionalImport, startAll } from './optional.js';

const { importModule } = await optionalImport('hyperdht');

/** Mainline, overlay and hyperdht testnets; a publisher on hyperdht, a bridge on all three, readers on one each. */
describe('bridges between networks', { timeout: 90_000 }, () => {
  const nets: { destroy(): Promise<void> }[] = [];
  let mainline: Testnet | undefined;
  let overlay: OverlayTestnet | undefined;
  let hyper: Awaited<ReturnType<typeof createHyperswarmTestnet>> | undefined;
  const clients: UniversalClient[] = [];
  let publisher: UniversalClient;
  let bridge: UniversalClient;
  let mainlineReader: UniversalClient;
  let overlayReader: UniversalClient;

  before(async () => {
    [mainline, overlay, hyper] = await startAll(nets, [
      createTestnet(8),
      createOverlayTestnet(6),
      createHyperswarmTestnet(5, { importModule }),
    ]);
    const start = async (config: Parameters<typeof UniversalClient.create>[0]): Promise<UniversalClient> => {
      const c = await UniversalClient.create({ importModule, ...config });
      clients.push(c);
      return c;
    };
    publisher = await start({
      hyperswarm: { bootstrap: hyper.bootstrap },
      keyPair: keypairFromSeed(new Uint8Array(32).fill(5)),
    });
    bridge = await start({
      hyperswarm: { bootstrap: hyper.bootstrap },
      mainline: { bootstrap: mainline.bootstrap },
      overlay: { bootstrap: overlay.bootstrap },
    });
    mainlineReader = await start({ mainline: { bootstrap: mainline.bootstrap } });
    overlayReader = await start({ overlay: { bootstrap: overlay.bootstrap } });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nets.map((n) => n.destroy()));
  });

  it('a hyperdht record served under BEP 44 and as an overlay item, found from each side with its own signature', async () => {
    const value = new TextEncoder().encode('published on hyperswarm only');
    const [put] = await publisher.putRecord(value);
    assert.equal(put?.ok, true, String(put?.error));
    const ref = { publicKey: publisher.keyPair.publicKey };
    const { published } = await bridgeRecord(bridge, 'hyperswarm', ref, ['mainline', 'overlay'], {
      importModule,
    });
    assert.deepEqual(
      published.map((p) => [p.network, p.ok, p.error?.message]),
      [
        ['mainline', true, undefined],
        ['overlay', true, undefined],
      ],
    );

    const viaMainline = await readBridged(
      mainlineReader,
      'mainline',
      bridge.keyPair.publicKey,
      'hyperswarm',
      ref,
      { importModule },
    );
    assert.ok(viaMainline, 'nothing bridged found on Mainline');
    assert.equal(viaMainline.network, 'hyperswarm');
    assert.equal(viaMainline.scheme, 'hyperdht-ed25519');
    assert.deepEqual(viaMainline.value, value);
    assert.deepEqual(viaMainline.publicKey, publisher.keyPair.publicKey);

    const overlayBridgeKey = published.find((p) => p.network === 'overlay')!.record!.publicKey;
    const viaOverlay = await readBridged(overlayReader, 'overlay', overlayBridgeKey, 'hyperswarm', ref, {
      importModule,
    });
    assert.deepEqual(viaOverlay?.value, value);
    assert.deepEqual(viaOverlay?.signature, viaMainline.signature);
  });

  it('a bridge that alters the record, or relabels its origin, is caught by the reader', async () => {
    const ref = { publicKey: publisher.keyPair.publicKey };
    let original: RecordResult | undefined;
    for await (const r of publisher.getRecord(ref)) if (r.kind === 'record') original = r;
    assert.ok(original);
    const altered = encodeBridged({
      ...original.record,
      value: new TextEncoder().encode('altered by the bridge'),
    });
    const [put] = await bridge.putRecord(altered, {
      networks: ['mainline'],
      salt: bridgeSalt('hyperswarm', ref),
    });
    assert.equal(put?.ok, true, String(put?.error));
    await assert.rejects(
      readBridged(mainlineReader, 'mainline', bridge.keyPair.publicKey, 'hyperswarm', ref, { importModule }),
      { code: 'NOT_VERIFIED', message: /original signature does not verify/ },
    );
    // The same signed record relabelled as a Mainline one: the scheme no longer matches the bytes.
    const relabelled = decodeBridged(
      encodeBridged({ ...original.record, network: 'mainline', scheme: 'bep44-ed25519' }),
    )!;
    const [put2] = await bridge.putRecord(encodeBridged(relabelled), {
      networks: ['mainline'],
      salt: bridgeSalt('mainline', ref),
    });
    assert.equal(put2?.ok, true);
    await assert.rejects(
      readBridged(mainlineReader, 'mainline', bridge.keyPair.publicKey, 'mainline', ref, { importModule }),
      { code: 'NOT_VERIFIED' },
    );
  });

  it('peers announced on hyperdht are published on Mainline with their origin, and the bridge is findable there', async () => {
    const infohash = infohashFromName('bridged-peers');
    const [ann] = await publisher.announce(infohash);
    assert.equal(ann?.ok, true, String(ann?.error));
    const result = await bridgePeers(bridge, infohash, ['hyperswarm'], 'mainline');
    assert.ok(result.peers.length >= 1);
    assert.equal(result.announced, true);

    const bridged = await readBridgedPeers(mainlineReader, 'mainline', bridge.keyPair.publicKey, infohash);
    assert.ok(
      bridged.some(
        (p) => p.network === 'hyperswarm' && Buffer.from(p.id!).equals(publisher.keyPair.publicKey),
      ),
      `bridged peers: ${JSON.stringify(bridged.map((p) => p.network))}`,
    );
    const found: PeerResult[] = [];
    for await (const r of mainlineReader.findPeers(infohash)) if (r.kind === 'peer') found.push(r);
    assert.ok(found.length >= 1, 'the bridge is not announced on Mainline');
  });
});
