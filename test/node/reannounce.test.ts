import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import type { DhtEvents } from '../../src/node/events.js';
import { MAX_REANNOUNCES, REANNOUNCE_MEMORY_MS, Reannouncer } from '../../src/node/reannounce.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import type { Address } from '../../src/transport/address.js';

describe('Reannouncer', () => {
  it('remembers recent announces, bounded, and forgets old ones', () => {
    const id = (i: number): Uint8Array => {
      const b = new Uint8Array(20);
      b[0] = i >> 8;
      b[1] = i & 255;
      return b;
    };
    const r = new Reannouncer();
    // Announced at times 0, 1, 2, ...: the first five are pushed out by the bound.
    for (let i = 0; i < MAX_REANNOUNCES + 5; i++) r.remember(id(i), 1, false, i);
    assert.equal(r.size, MAX_REANNOUNCES);
    assert.equal(r.due(MAX_REANNOUNCES + 5).length, MAX_REANNOUNCES);
    assert.equal(
      r.due(5 + REANNOUNCE_MEMORY_MS).length,
      MAX_REANNOUNCES - 1,
      'the oldest kept (at 5) expired',
    );
    assert.equal(r.due(10 * REANNOUNCE_MEMORY_MS).length, 0);
  });
});

describe('an external address change makes the node announce again', () => {
  let net: Testnet;
  let dht: Dht | undefined;

  before(async () => {
    net = await createTestnet(10, { node: { ipv6: false } });
  });

  after(async () => {
    await dht?.close();
    await net.destroy();
  });

  it('repeats its recent announces once the network agrees on a new address', async () => {
    dht = new Dht({ host: '127.0.0.1', port: 0, ipv6: false, bootstrap: net.bootstrap, secureIds: 'off' });
    assert.ok((await dht.start()).ok);
    const infoHash = new Uint8Array(20).fill(0x5a);
    assert.ok((await dht.announce(infoHash, { port: 7777 })).announcedTo > 0);
    const announces: DhtEvents['lookup:finished'][] = [];
    const reannounced: DhtEvents['reannounce'][] = [];
    dht.events.on('lookup:finished', (e) => e.kind === 'announce' && announces.push(e));
    dht.events.on('reannounce', (e) => reannounced.push(e));
    // Responders report, BEP 42 style, how they see us; enough of them now see a new address.
    const learn = (
      dht as unknown as { learnExternalIp(reporter: Address, seen: Address): void }
    ).learnExternalIp.bind(dht);
    const seen: Address = { host: '127.0.0.2', port: dht.address.port, family: 4 };
    for (let i = 1; i <= 40 && reannounced.length === 0; i++)
      learn({ host: `10.1.${i}.1`, port: 6881, family: 4 }, seen);
    assert.deepEqual(reannounced, [{ host: '127.0.0.2', count: 1 }]);
    for (let i = 0; i < 100 && announces.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(announces.length, 1, 'the announce was repeated');
    assert.ok(announces[0]?.ok);
    assert.deepEqual(announces[0]?.target, infoHash);
  });
});
