/**
 * BEP 5 between kadmium and each real client on 127.0.0.1, both directions: the client joins
 * through kadmium, kadmium joins through the client, the client announces and kadmium finds its
 * peer, kadmium announces and the client finds ours.
 *
 * Settings the peers needed on loopback (details in README.md):
 * - libtorrent (lt_node.py): dht_block_ratelimit raised (5 pkt/s per IP would block 127.0.0.1),
 *   dht_restrict_routing_ips / dht_restrict_search_ips off (all nodes share one IP),
 *   dht_enforce_node_id / dht_prefer_verified_node_ids off, no public routers, listen on
 *   127.0.0.1; it joins through add_dht_node (routers never enter its table).
 * - bittorrent-dht: an explicit loopback bootstrap list (omitted = public routers), listen on
 *   127.0.0.1 in the constructor's tick, k-rpc timeout 1 s.
 * - kadmium: IPv4 only here (the clients listen on 127.0.0.1 only); BEP 42 stays at its default
 *   `prefer`, which exempts loopback, so the clients' ids are neither checked nor penalised.
 * A client that cannot start fails the suite with its stderr; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { toHex } from '../../src/util/bytes.js';
import { BittorrentDhtPeer } from './bittorrent-dht-peer.js';
import type { InteropPeer } from './common.js';
import { LibtorrentPeer } from './libtorrent-peer.js';

const clients: [string, () => Promise<InteropPeer>][] = [
  ['libtorrent', () => LibtorrentPeer.start()],
  ['bittorrent-dht', () => BittorrentDhtPeer.start()],
];

const kadmiumOptions = { ipv6: false } as const;

for (const [name, startClient] of clients) {
  describe(`BEP 5: kadmium <-> ${name}`, { timeout: 60_000 }, () => {
    let net: Testnet;
    let client: InteropPeer;
    const joined: Dht[] = [];

    before(async () => {
      net = await createTestnet(5, { node: kadmiumOptions });
      client = await startClient();
    });
    after(async () => {
      await Promise.all(joined.map((n) => n.close()));
      await client?.stop();
      await net?.destroy();
    });

    it(`${name} bootstraps from kadmium and learns kadmium nodes from our find_node replies`, async () => {
      const first = net.nodes[0]!.address;
      const r = await client.bootstrap([{ host: '127.0.0.1', port: first.port }], {
        minNodes: 3,
        timeoutMs: 10_000,
      });
      assert.ok(r.dhtNodes >= 3, `${name} has ${r.dhtNodes} nodes after joining through kadmium`);
    });

    it(`kadmium bootstraps from ${name} alone and reaches the kadmium nodes it knows`, async () => {
      const node = new Dht({ ...kadmiumOptions, host: '127.0.0.1', bootstrap: [`127.0.0.1:${client.port}`] });
      joined.push(node);
      const result = await node.start({ timeoutMs: 10_000 });
      assert.ok(result.ok, result.message);
      assert.equal(result.responded, 1, `${name} answered our find_node`);
      const hosts = [...node.table.nodes()].map((c) => c.address.port);
      assert.ok(hosts.includes(client.port), `${name} is in our table`);
      const kadmiumPorts = new Set(net.nodes.map((n) => n.address.port));
      assert.ok(
        hosts.some((p) => kadmiumPorts.has(p)),
        `${name} referred us to kadmium nodes; table ${JSON.stringify(hosts)}`,
      );
    });

    it(`${name} announces and kadmium finds its peer`, async () => {
      const ih = randomBytes(20);
      const announced = await client.announce(toHex(ih), { timeoutMs: 10_000 });
      assert.ok(announced.acks >= 1, `${name} announce was acknowledged by no node`);
      for (const finder of [net.nodes[3]!, joined[0]!]) {
        const peers = await finder.findPeers(ih, { timeoutMs: 10_000 });
        assert.ok(
          peers.some((p) => p.host === '127.0.0.1' && p.port === announced.port),
          `kadmium did not find ${name} at ${announced.port}; got ${JSON.stringify(peers)}`,
        );
      }
    });

    it(`kadmium announces and ${name} finds our peer`, async () => {
      const ih = randomBytes(20);
      const result = await net.nodes[2]!.announce(ih, { port: 51413, timeoutMs: 10_000 });
      assert.ok(result.announcedTo >= 3, `announced to ${result.announcedTo}`);
      const found = await client.getPeers(toHex(ih), { untilPeers: 1, timeoutMs: 10_000 });
      assert.ok(
        found.peers.some((p) => p.host === '127.0.0.1' && p.port === 51413),
        `${name} did not find 127.0.0.1:51413; got ${JSON.stringify(found.peers)}`,
      );
      // implied_port: the client finds the announcing socket's own port too.
      const ih2 = randomBytes(20);
      const announcer = net.nodes[1]!;
      await announcer.announce(ih2, { timeoutMs: 10_000 });
      const implied = await client.getPeers(toHex(ih2), { untilPeers: 1, timeoutMs: 10_000 });
      assert.ok(
        implied.peers.some((p) => p.port === announcer.address.port),
        `implied_port: ${name} should see port ${announcer.address.port}; got ${JSON.stringify(implied.peers)}`,
      );
    });
  });
}
