/**
 * A mixed network on 127.0.0.1: kadmium nodes, two libtorrent nodes and two bittorrent-dht nodes.
 * For each implementation X, a target is placed next to one X node's id, so X runs the target's
 * closest node. Peers announced by every implementation are then found by every implementation,
 * and kadmium's find_node converges on X. Lookups must work whichever implementation answers.
 *
 * Settings: libtorrent and bittorrent-dht as in kadmium-bep5.test.ts (README.md has the reasons);
 * kadmium IPv4 only with BEP 42 at `prefer` (loopback is exempt). A client that cannot start
 * fails the suite with its stderr; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { BittorrentDhtPeer } from './bittorrent-dht-peer.js';
import { type InteropPeer, type PeerAddress, startAll } from './common.js';
import { LibtorrentPeer } from './libtorrent-peer.js';

/** Anything that can announce and look up, over one interface. */
interface Member {
  name: string;
  idHex: string;
  port: number;
  announce(ihHex: string): Promise<number>;
  find(ihHex: string): Promise<PeerAddress[]>;
}

function kadmium(node: Dht, i: number): Member {
  return {
    name: `kadmium#${i}`,
    idHex: toHex(node.id),
    port: node.address.port,
    announce: async (ih) => {
      const r = await node.announce(fromHex(ih)!, { timeoutMs: 10_000 });
      assert.ok(r.announcedTo >= 1, `kadmium#${i} announce reached no node`);
      return node.address.port;
    },
    find: async (ih) =>
      (await node.findPeers(fromHex(ih)!, { timeoutMs: 10_000 })).map((p) => ({
        host: p.host,
        port: p.port,
      })),
  };
}

function client(peer: InteropPeer, i: number): Member {
  return {
    name: `${peer.kind}#${i}`,
    idHex: peer.nodeIdHex,
    port: peer.port,
    announce: async (ih) => (await peer.announce(ih, { timeoutMs: 10_000 })).port,
    find: async (ih) => (await peer.getPeers(ih, { untilPeers: 3, timeoutMs: 10_000 })).peers,
  };
}

/** A target next to `idHex`: the same id with the last bit flipped. */
function nextTo(idHex: string): string {
  const b = fromHex(idHex)!;
  b[19] = (b[19] as number) ^ 1;
  return toHex(b);
}

describe('mixed network: kadmium + libtorrent + bittorrent-dht', { timeout: 120_000 }, () => {
  let net: Testnet;
  const clients: InteropPeer[] = [];
  const members: Member[] = [];

  before(async () => {
    net = await createTestnet(12, { node: { ipv6: false } });
    const boot = { host: '127.0.0.1', port: net.nodes[0]!.address.port };
    clients.push(
      ...(await startAll([
        LibtorrentPeer.start(),
        LibtorrentPeer.start(),
        BittorrentDhtPeer.start({ bootstrap: [boot] }),
        BittorrentDhtPeer.start({ bootstrap: [boot] }),
      ])),
    );
    for (const c of clients) await c.bootstrap([boot], { minNodes: 4, timeoutMs: 10_000 });
    // Every kadmium node learns every client (and the clients each other, through kadmium).
    for (const node of net.nodes)
      for (const c of clients) await node.ping({ host: '127.0.0.1', port: c.port, family: 4 });
    for (const c of clients) for (const other of clients) if (c !== other) await c.addNode(other.address);
    members.push(...net.nodes.slice(0, 4).map(kadmium), ...clients.map(client));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await net?.destroy();
  });

  const owners = [
    ['kadmium', 0],
    ['libtorrent', 4],
    ['bittorrent-dht', 6],
  ] as const;

  for (const [owner, index] of owners) {
    it(`find_node converges on a ${owner} node when it is the target's closest`, async () => {
      const target = members[index]!;
      const found = await net.nodes[9]!.findNode(fromHex(nextTo(target.idHex))!, { timeoutMs: 10_000 });
      assert.equal(found[0] && toHex(found[0].id), target.idHex, `the closest is ${target.name}`);
      assert.equal(found[0]?.address.port, target.port);
    });

    it(`every implementation finds peers announced by every other, target closest to ${owner}`, async () => {
      const ih = nextTo(members[index]!.idHex);
      const announcers = [members[1]!, members[4]!, members[6]!]; // kadmium, libtorrent, bittorrent-dht
      const ports: { name: string; port: number }[] = [];
      for (const a of announcers) ports.push({ name: a.name, port: await a.announce(ih) });
      const finders = [members[2]!, members[5]!, members[7]!];
      for (const f of finders) {
        const peers = await f.find(ih);
        // Everyone must find the peers the two other implementations announced.
        for (const p of ports.filter((x) => x.name.split('#')[0] !== f.name.split('#')[0])) {
          assert.ok(
            peers.some((x) => x.host === '127.0.0.1' && x.port === p.port),
            `${f.name} did not find ${p.name}'s peer ${p.port}; got ${JSON.stringify(peers)}`,
          );
        }
      }
    });
  }
});
