/**
 * BEP 44 items between kadmium and real clients on loopback, both directions: immutable, and
 * mutable with salt. Each network is a few kadmium nodes (which store the items) plus one client.
 *
 * Settings the peers needed: see test/interop/README.md (libtorrent: dht_block_ratelimit raised,
 * restrict_routing/search_ips off, no public routers; bittorrent-dht: bootstrap list of loopback
 * nodes, an ed25519 verify function). kadmium needs nothing special: loopback is exempt from its
 * per-IP limits. A peer that cannot start fails the test with its stderr; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Testnet, createTestnet } from '../../src/node/testnet.js';
import { keypairFromSeed, mutableTarget } from '../../src/protocols/mainline/bep44.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { BittorrentDhtPeer } from './bittorrent-dht-peer.js';
import type { InteropPeer } from './common.js';
import { LibtorrentPeer } from './libtorrent-peer.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (v: unknown): string => Buffer.from(v as Uint8Array).toString('utf8');

const clients: [string, () => Promise<InteropPeer>][] = [
  ['libtorrent', () => LibtorrentPeer.start()],
  ['bittorrent-dht', () => BittorrentDhtPeer.start()],
];

for (const [name, startClient] of clients) {
  describe(`BEP 44 items: kadmium <-> ${name}`, () => {
    let net: Testnet;
    let client: InteropPeer;

    before(async () => {
      net = await createTestnet(5);
      client = await startClient();
      const first = net.nodes[0]!.address;
      await client.bootstrap([{ host: '127.0.0.1', port: first.port }], { minNodes: 3, timeoutMs: 10_000 });
      // Make sure kadmium's nodes know the client too, so both sides route to each other.
      for (const node of net.nodes) await node.ping({ host: '127.0.0.1', port: client.port, family: 4 });
    });
    after(async () => {
      await client?.stop();
      await net?.destroy();
    });

    it(`an immutable item put by kadmium is read by ${name}`, async () => {
      const value = `from kadmium ${toHex(randomBytes(4))}`;
      const put = await net.nodes[1]!.putImmutable(text(value));
      assert.ok(put.storedOn >= 3);
      const got = await client.getImmutable(toHex(put.target), { timeoutMs: 8000 });
      assert.ok(got.found, `${name} did not find ${toHex(put.target)}`);
      assert.equal(got.value, value);
    });

    it(`an immutable item put by ${name} is read by kadmium`, async () => {
      const value = `from ${name} ${toHex(randomBytes(4))}`;
      const put = await client.putImmutable(value, { timeoutMs: 8000 });
      assert.ok(put.numSuccess >= 1, `${name} stored it on no node`);
      const got = await net.nodes[3]!.get(fromHex(put.targetHex)!);
      assert.equal(str(got?.v), value);
    });

    it(`a mutable item with salt put by kadmium is read by ${name}, with its seq`, async () => {
      const seed = randomBytes(32);
      const keyPair = keypairFromSeed(new Uint8Array(seed));
      await net.nodes[2]!.putMutable({ keyPair, v: text('first'), salt: 'svc' });
      const second = await net.nodes[2]!.putMutable({ keyPair, v: text('second'), salt: 'svc' });
      assert.equal(second.seq, 1);
      const got = await client.getMutable(toHex(keyPair.publicKey), 'svc', { timeoutMs: 8000 });
      assert.ok(got.found, `${name} did not find the mutable item`);
      assert.deepEqual([got.value, got.seq], ['second', 1]);
    });

    it(`a mutable item with salt put by ${name} is read by kadmium, signature verified`, async () => {
      const seed = randomBytes(32);
      const keyPair = keypairFromSeed(new Uint8Array(seed));
      const put = await client.putMutable(
        { seedHex: seed.toString('hex'), value: `mutable from ${name}`, salt: 'dmsg' },
        { timeoutMs: 8000 },
      );
      assert.equal(
        put.publicKeyHex,
        toHex(keyPair.publicKey),
        'both derive the same public key from the seed',
      );
      const got = await net.nodes[4]!.get(mutableTarget(keyPair.publicKey, text('dmsg')), { salt: 'dmsg' });
      assert.equal(str(got?.v), `mutable from ${name}`);
      assert.equal(got?.seq, put.seq);
    });
  });
}
