import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keypairFromSeed } from '../../src/protocols/mainline/bep44.js';
import { systemClock } from '../../src/util/clock.js';
import { UniversalClient } from '../../src/universal/client.js';
import {
  createIpfsTestnet,
  encodeIpfsRecord,
  ipfsRecordKey,
  kadmiumValidator,
} from '../../src/universal/adapters/ipfs.js';
import { cidBytesOfInfohash, infohashFromName } from '../../src/universal/keys.js';
import { signIpfsRecord, verifyRecord } from '../../src/universal/records.js';
import type { PeerResult, RecordResult } from '../../src/universal/types.js';
import { optionalImport } from './optional.js';

const { importModule } = await optionalImport('libp2p');
const PROTOCOL = '/kadmium-test/kad/1.0.0';

describe('universal client on a libp2p kad-dht testnet', { timeout: 60_000 }, () => {
  let net: Awaited<ReturnType<typeof createIpfsTestnet>> | undefined;
  let alice: UniversalClient | undefined;
  let bob: UniversalClient | undefined;

  before(async () => {
    net = await createIpfsTestnet(5, { protocol: PROTOCOL, importModule, clock: systemClock });
    const ipfs = { bootstrap: net.bootstrap, protocol: PROTOCOL };
    alice = await UniversalClient.create({
      ipfs,
      importModule,
      keyPair: keypairFromSeed(new Uint8Array(32).fill(2)),
    });
    bob = await UniversalClient.create({ ipfs, importModule });
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await net?.destroy();
  });

  it('finds the provider of the CID an infohash maps to', async () => {
    const infohash = infohashFromName('ipfs-provide');
    const [outcome] = await alice!.announce(infohash);
    assert.equal(outcome?.ok, true, String(outcome?.error));
    const peers: PeerResult[] = [];
    for await (const r of bob!.findPeers(infohash, { timeoutMs: 20_000 })) {
      assert.notEqual(r.kind, 'failure', r.kind === 'failure' ? r.error.message : '');
      if (r.kind === 'peer') peers.push(r);
    }
    const aliceId = alice!.adapter('ipfs') && peers.find((p) => p.network === 'ipfs');
    assert.ok(aliceId, 'no provider found');
    assert.deepEqual(aliceId.key, cidBytesOfInfohash(infohash));
    assert.ok(aliceId.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')));
  });

  it('gets a signed /kadmium/ record put by another client; a newer put wins', async () => {
    const salt = new TextEncoder().encode('status');
    for (const text of ['first', 'second']) {
      const [put] = await alice!.putRecord(new TextEncoder().encode(text), { salt });
      assert.equal(put?.ok, true, String(put?.error));
    }
    const got: RecordResult[] = [];
    for await (const r of bob!.getRecord({ publicKey: alice!.keyPair.publicKey, salt }))
      if (r.kind === 'record') got.push(r);
    assert.equal(got.length, 1);
    assert.equal(new TextDecoder().decode(got[0]!.record.value), 'second');
    assert.equal(got[0]!.record.seq, 1n);
    assert.deepEqual(await verifyRecord(got[0]!.record), { ok: true });
  });

  it('the network validator refuses a record whose signature does not match its key', async () => {
    const keyPair = keypairFromSeed(new Uint8Array(32).fill(3));
    const salt = new Uint8Array(0);
    const good = signIpfsRecord(keyPair, salt, 0n, new Uint8Array([1, 2, 3]));
    await kadmiumValidator(ipfsRecordKey(keyPair.publicKey, salt), encodeIpfsRecord(good));
    const forged = encodeIpfsRecord({ ...good, value: new Uint8Array([9]) });
    await assert.rejects(kadmiumValidator(ipfsRecordKey(keyPair.publicKey, salt), forged), {
      code: 'INVALID_RECORD',
    });
    const other = keypairFromSeed(new Uint8Array(32).fill(4)).publicKey;
    await assert.rejects(kadmiumValidator(ipfsRecordKey(other, salt), encodeIpfsRecord(good)), {
      code: 'INVALID_RECORD',
    });
  });
});
