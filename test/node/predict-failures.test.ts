import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { Dht } from '../../src/node/dht.js';

/** Past the query timeout (200 ms) and its retry: the timeout has been reported. */
const SETTLE_MS = 800;

/**
 * `--latency ...,predict-failures` on a real node: its replies and timeouts reach the failure
 * model, and the routing table hands the contact that timed out after one that answered.
 */
describe('predict-failures on a Mainline node', () => {
  let silent: Socket | undefined;
  const nodes: Dht[] = [];

  before(async () => {
    silent = createSocket('udp4');
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
  });

  after(async () => {
    for (const n of nodes) await n.close();
    silent?.close();
  });

  it('learns from answers and timeouts and hands out the contact that timed out last', async () => {
    const make = async (): Promise<Dht> => {
      const dht = new Dht({
        host: '127.0.0.1',
        port: 0,
        ipv6: false,
        bootstrap: false,
        timeoutMs: 200,
        shortTimeoutMs: 100,
        latency: ['adaptive-timeouts', 'predict-failures'],
      });
      nodes.push(dht);
      await dht.listen();
      return dht;
    };
    const dht = await make();
    const peer = await make();
    const model = dht.latency.failures;
    assert.ok(model, 'the technique makes a model');
    const silentAddress = { host: '127.0.0.1', port: silent?.address().port ?? 0, family: 4 as const };
    // Ids that differ from each other in the last byte only: both nearest to the same target.
    const silentId = new Uint8Array(peer.id);
    silentId[19] = (silentId[19] as number) ^ 1;
    const silentContact = { id: asNodeId(silentId), address: silentAddress };
    dht.table.observe(silentContact, true, dht.clock.now());
    dht.table.observe({ id: peer.id, address: peer.address }, true, dht.clock.now());
    // A contact that answered once is not yet trusted (about 4%): let the peer answer a few times.
    for (let i = 0; i < 3; i++) {
      dht.table.observe(silentContact, true, dht.clock.now());
      await dht.findNode(peer.id).catch(() => undefined);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    const stats = model.stats();
    assert.ok(stats.outcomes >= 6 && stats.failures >= 3, JSON.stringify(stats));
    const pSilent = model.failureOf(silentAddress, dht.clock.now()) as number;
    const pPeer = model.failureOf(peer.address, dht.clock.now()) as number;
    assert.ok(pSilent > pPeer, `silent ${pSilent} vs answering ${pPeer}`);
    // Put back as if referred again (the table evicts it after two failures): handed out last.
    dht.table.observe(silentContact, true, dht.clock.now());
    const handed = dht.table.closest(silentId, 2).map((n) => n.address.port);
    assert.deepEqual(handed, [peer.address.port, silentAddress.port]);
  });
});
