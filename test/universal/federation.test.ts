import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import {
  createOverlayTestnet,
  formatOverlayBootstrap,
  type OverlayTestnet,
} from '../../src/node/overlay-tcp.js';
import { keypairFromSeed } from '../../src/protocols/mainline/bep44.js';
import { UniversalClient } from '../../src/universal/client.js';
import { createHyperswarmTestnet } from '../../src/universal/adapters/hyperswarm.js';
import {
  type FederationDocument,
  federatedConfig,
  federationFromJson,
  federationToJson,
  fetchFromMainline,
  publishFederationList,
  resolveFederation,
  signFederationList,
  verifyFederationDocument,
} from '../../src/universal/federation.js';
import { toHex } from '../../src/util/bytes.js';
import { optionalImport, startAll } from './optional.js';

const { importModule } = await optionalImport('hyperdht');
const opA = keypairFromSeed(new Uint8Array(32).fill(0xa));
const opB = keypairFromSeed(new Uint8Array(32).fill(0xb));
const opC = keypairFromSeed(new Uint8Array(32).fill(0xc));

describe('federation lists', () => {
  it('a signed list round-trips through its file form and verifies only for its operator', async () => {
    const doc = signFederationList(
      opA,
      { networks: { mainline: ['127.0.0.1:6881'] }, peers: [opB.publicKey] },
      3,
    );
    const back = federationFromJson(federationToJson(doc));
    const list = await verifyFederationDocument(back, opA.publicKey);
    assert.deepEqual(list.networks.mainline, ['127.0.0.1:6881']);
    assert.deepEqual(list.peers.map(toHex), [toHex(opB.publicKey)]);
    await assert.rejects(verifyFederationDocument(back, opB.publicKey), {
      code: 'NOT_VERIFIED',
      message: /not by operator/,
    });
  });

  it('an edited list fails its signature', async () => {
    const doc = signFederationList(opA, { networks: { mainline: ['127.0.0.1:6881'] }, peers: [] }, 1);
    const edited = signFederationList(opA, { networks: { mainline: ['10.6.6.6:6881'] }, peers: [] }, 1);
    await assert.rejects(verifyFederationDocument({ ...doc, value: edited.value }), {
      code: 'NOT_VERIFIED',
      message: /does not verify/,
    });
  });

  it('resolution visits each operator once (a cycle ends), and reports operators whose lists are missing or forged', async () => {
    const docs = new Map<string, FederationDocument>();
    const a = signFederationList(
      opA,
      { networks: { mainline: ['a:1'] }, peers: [opB.publicKey, opC.publicKey] },
      1,
    );
    docs.set(
      toHex(opB.publicKey),
      signFederationList(opB, { networks: { hyperswarm: ['b:2'] }, peers: [opA.publicKey] }, 1),
    );
    // C's "list" is signed by B: whoever serves it, it is not C's.
    docs.set(toHex(opC.publicKey), signFederationList(opB, { networks: { ipfs: ['c:3'] }, peers: [] }, 1));
    const fed = await resolveFederation(a, async (k) => docs.get(toHex(k)));
    assert.deepEqual(fed.operators.map(toHex), [toHex(opA.publicKey), toHex(opB.publicKey)]);
    assert.deepEqual(fed.networks, { mainline: ['a:1'], hyperswarm: ['b:2'] });
    assert.equal(fed.refused.length, 1);
    assert.match(fed.refused[0]!.reason, /not by operator/);
  });
});

/** Operator A runs Mainline and overlay bootstrap nodes, operator B a hyperdht one; a client holds only A's list. */
describe('federation on live testnets', { timeout: 90_000 }, () => {
  const nets: { destroy(): Promise<void> }[] = [];
  let mainline: Testnet | undefined;
  let overlay: OverlayTestnet | undefined;
  let hyper: Awaited<ReturnType<typeof createHyperswarmTestnet>> | undefined;
  const clients: UniversalClient[] = [];

  before(async () => {
    [mainline, overlay, hyper] = await startAll(nets, [
      createTestnet(8),
      createOverlayTestnet(5),
      createHyperswarmTestnet(4, { importModule }),
    ]);
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nets.map((n) => n.destroy()));
  });

  it('joins every advertised network from one starting list, the others fetched from Mainline', async () => {
    const operatorB = await UniversalClient.create({
      mainline: { bootstrap: mainline!.bootstrap },
      keyPair: opB,
    });
    clients.push(operatorB);
    await publishFederationList(operatorB, {
      networks: { hyperswarm: hyper!.bootstrap },
      peers: [opA.publicKey],
    });
    const startList = signFederationList(
      opA,
      {
        networks: { mainline: mainline!.bootstrap, overlay: overlay!.bootstrap.map(formatOverlayBootstrap) },
        peers: [opB.publicKey],
      },
      1,
    );
    const file = federationToJson(startList);

    const seed = await UniversalClient.create({ mainline: { bootstrap: mainline!.bootstrap } });
    clients.push(seed);
    const fed = await resolveFederation(federationFromJson(file), fetchFromMainline(seed));
    assert.deepEqual(fed.refused, []);
    assert.deepEqual(Object.keys(fed.networks).sort(), ['hyperswarm', 'mainline', 'overlay']);

    const client = await UniversalClient.create({ ...federatedConfig(fed), importModule });
    clients.push(client);
    assert.deepEqual(client.networks, ['mainline', 'overlay', 'hyperswarm']);
    // Joined for real: a record put on each storing network through the federated client.
    const puts = await client.putRecord(new TextEncoder().encode('federated'), {
      networks: ['overlay', 'hyperswarm'],
    });
    assert.deepEqual(
      puts.map((p) => [p.network, p.ok, p.error?.message]),
      [
        ['overlay', true, undefined],
        ['hyperswarm', true, undefined],
      ],
    );
  });
});
