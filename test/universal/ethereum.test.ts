import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UniversalClient } from '../../src/universal/client.js';
import { createEthereumTestnet } from '../../src/universal/adapters/ethereum.js';
import { ethereumNodeIdOf } from '../../src/universal/keys.js';
import { verifyRecord } from '../../src/universal/records.js';
import type { NodeResult, RecordResult } from '../../src/universal/types.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { optionalImport } from './optional.js';

const { importModule } = await optionalImport('@chainsafe/discv5');

describe('universal client on a discv5 testnet', { timeout: 60_000 }, () => {
  let net: Awaited<ReturnType<typeof createEthereumTestnet>> | undefined;
  let client: UniversalClient | undefined;

  before(async () => {
    net = await createEthereumTestnet(6, { importModule });
    client = await UniversalClient.create({ ethereum: { bootstrap: net.bootstrap }, importModule });
  });
  after(async () => {
    await client?.close();
    await net?.destroy();
  });

  it('finds a node by its 32-byte id', async () => {
    const target = fromHex(net!.nodes[5].enr.nodeId)!;
    const found: NodeResult[] = [];
    for await (const r of client!.findNode(target, { timeoutMs: 20_000 }))
      if (r.kind === 'node') found.push(r);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.network, 'ethereum');
    assert.equal(toHex(found[0]!.id), toHex(target));
    assert.match(found[0]!.addresses[0] ?? '', /^\/ip4\/127\.0\.0\.1\/udp\/\d+$/);
  });

  it('gets a node record (its ENR) by public key, and the ENR signature verifies', async () => {
    const node = net!.nodes[4];
    const publicKey = new Uint8Array(node.enr.publicKey);
    assert.equal(toHex(ethereumNodeIdOf(publicKey)), node.enr.nodeId);
    const got: RecordResult[] = [];
    for await (const r of client!.getRecord({ publicKey }, { timeoutMs: 20_000 }))
      if (r.kind === 'record') got.push(r);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.record.scheme, 'enr-v4');
    assert.deepEqual(await verifyRecord(got[0]!.record, importModule), { ok: true });
    const tampered = got[0]!.record.value.slice();
    const last = tampered.length - 1;
    tampered[last] = (tampered[last] ?? 0) ^ 1;
    assert.equal((await verifyRecord({ ...got[0]!.record, value: tampered }, importModule)).ok, false);
  });

  it('says a put is UNSUPPORTED on discv5', async () => {
    await assert.rejects(client!.putRecord(new Uint8Array(1), { networks: ['ethereum'] }), {
      code: 'UNSUPPORTED',
    });
  });
});
