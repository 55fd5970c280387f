/**
 * BEP 32, 33, 42, 43 and 51 between kadmium and each real client on 127.0.0.1: what each side
 * sends and answers, asserted exactly as observed (libtorrent 2.0.8, bittorrent-dht 11.0.12), so
 * a change on either side shows up here. docs/INTEROP.md tabulates the results.
 *
 * Settings the peers needed: as in kadmium-bep5.test.ts (README.md has the reasons). Both clients
 * listen on 127.0.0.1 only (the harness binds no IPv6), so BEP 32 is probed over IPv4 with `want`;
 * kadmium's own IPv6 is proven on ::1 in test/node/dual-stack.test.ts. kadmium's BEP 42 level is
 * `prefer`, which exempts loopback. A client that cannot start fails the suite; nothing skips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { ScrapeBloom } from '../../src/protocols/mainline/scrape-bloom.js';
import { isSecureId } from '../../src/protocols/mainline/secure-id.js';
import type { Address } from '../../src/transport/address.js';
import type { Transport } from '../../src/transport/transport.js';
import { createUdpTransport } from '../../src/transport/udp.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { BDict } from '../../src/wire/bencode.js';
import { decodeCompactAddress, decodeNodes } from '../../src/wire/compact.js';
import { decodeKrpc, encodeQuery, type KrpcMessage } from '../../src/wire/krpc.js';
import { BittorrentDhtPeer } from './bittorrent-dht-peer.js';
import type { InteropPeer } from './common.js';
import { LibtorrentPeer } from './libtorrent-peer.js';

const N4 = new Uint8Array([0x6e, 0x34]);
const N6 = new Uint8Array([0x6e, 0x36]);

/** A raw KRPC socket on 127.0.0.1 that sends one query and waits (bounded) for its answer. */
class Probe {
  private n = 0;
  private constructor(private readonly sock: Socket) {}
  static async open(): Promise<Probe> {
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    return new Probe(sock);
  }
  get port(): number {
    return this.sock.address().port;
  }
  ask(port: number, method: string, a: BDict, ro = false, waitMs = 1500): Promise<KrpcMessage | 'silence'> {
    const t = new Uint8Array([0x70, this.n++ & 0xff]);
    return new Promise((resolve) => {
      const onMessage = (msg: Buffer): void => {
        const d = decodeKrpc(new Uint8Array(msg));
        if (!d.ok || d.message.t[0] !== t[0] || d.message.t[1] !== t[1]) return;
        clearTimeout(timer);
        this.sock.off('message', onMessage);
        resolve(d.message);
      };
      const timer = setTimeout(() => {
        this.sock.off('message', onMessage);
        resolve('silence');
      }, waitMs);
      this.sock.on('message', onMessage);
      this.sock.send(encodeQuery(t, method, a, { ro }), port, '127.0.0.1');
    });
  }
  close(): void {
    this.sock.close();
  }
}

/** Records the queries a kadmium node receives (method and argument keys) per sender port. */
class Tap implements Transport {
  readonly seen: { port: number; method: string; keys: string[]; ro: boolean; a: BDict }[] = [];
  constructor(private readonly inner: Transport) {}
  get address(): Address {
    return this.inner.address;
  }
  send(data: Uint8Array, to: Address): void {
    this.inner.send(data, to);
  }
  onMessage(handler: (data: Uint8Array, from: Address) => void): void {
    this.inner.onMessage((data, from) => {
      const d = decodeKrpc(data);
      if (d.ok && d.message.y === 'q')
        this.seen.push({
          port: from.port,
          method: d.message.q,
          keys: Object.keys(d.message.a).sort(),
          ro: d.message.ro,
          a: d.message.a,
        });
      handler(data, from);
    });
  }
  onError(handler: (err: Error) => void): void {
    this.inner.onError(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const reply = (m: KrpcMessage | 'silence'): BDict => {
  assert.ok(m !== 'silence' && m.y === 'r', `expected a reply, got ${m === 'silence' ? 'silence' : m.y}`);
  return (m as { r: BDict }).r;
};

const clients: [string, () => Promise<InteropPeer>][] = [
  ['libtorrent', () => LibtorrentPeer.start()],
  ['bittorrent-dht', () => BittorrentDhtPeer.start()],
];

for (const [name, startClient] of clients) {
  const lt = name === 'libtorrent';
  describe(`BEPs 32/33/42/43/51: kadmium <-> ${name}`, { timeout: 60_000 }, () => {
    let net: Testnet;
    let client: InteropPeer;
    let probe: Probe;
    let tapped: Dht;
    let tap: Tap;
    const ih = randomBytes(20);

    before(async () => {
      net = await createTestnet(4, { node: { ipv6: false } });
      tap = new Tap(await createUdpTransport({ host: '127.0.0.1', port: 0 }));
      tapped = new Dht({ transport: tap, bootstrap: [`127.0.0.1:${net.nodes[0]!.address.port}`] });
      await tapped.start({ timeoutMs: 5000 });
      client = await startClient();
      const boot = [
        { host: '127.0.0.1', port: net.nodes[0]!.address.port },
        { host: '127.0.0.1', port: tapped.address.port },
      ];
      await client.bootstrap(boot, { minNodes: 3, timeoutMs: 10_000 });
      for (const node of [...net.nodes, tapped])
        await node.ping({ host: '127.0.0.1', port: client.port, family: 4 });
      probe = await Probe.open();
      // Stored on every node, the client included: one seed (kadmium) and one leecher (the client).
      await net.nodes[1]!.announce(ih, { port: 7001, seed: true, timeoutMs: 10_000 });
      await client.announce(toHex(ih), { timeoutMs: 10_000 });
    });
    after(async () => {
      probe?.close();
      await client?.stop();
      await tapped?.close();
      await net?.destroy();
    });

    it('BEP 5 edge cases: unknown method, missing or short id, bad token', async () => {
      const unknown = await probe.ask(client.port, 'frobnicate', { id: randomBytes(20) });
      if (lt)
        assert.ok(unknown !== 'silence' && unknown.y === 'e' && unknown.code === 203, 'libtorrent: 203');
      else assert.equal(unknown, 'silence', 'bittorrent-dht: no answer');
      const noId = await probe.ask(client.port, 'get_peers', { info_hash: ih });
      const shortId = await probe.ask(client.port, 'ping', { id: randomBytes(19) });
      for (const m of [noId, shortId]) {
        assert.ok(m !== 'silence');
        if (lt) assert.ok(m.y === 'e' && m.code === 203);
        else assert.equal(m.y, 'r', 'bittorrent-dht answers anyway');
      }
      const badToken = await probe.ask(client.port, 'announce_peer', {
        id: randomBytes(20),
        info_hash: ih,
        port: 5,
        token: new Uint8Array([1, 2]),
      });
      assert.ok(badToken !== 'silence' && badToken.y === 'e' && badToken.code === 203);
      // kadmium's own answers to the same four.
      const k = net.nodes[0]!.address.port;
      const ours = [
        await probe.ask(k, 'frobnicate', { id: randomBytes(20) }),
        await probe.ask(k, 'get_peers', { info_hash: ih }),
        await probe.ask(k, 'ping', { id: randomBytes(19) }),
        await probe.ask(k, 'announce_peer', {
          id: randomBytes(20),
          info_hash: ih,
          port: 5,
          token: new Uint8Array(2),
        }),
      ];
      assert.deepEqual(
        ours.map((m) => (m !== 'silence' && m.y === 'e' ? m.code : m === 'silence' ? m : m.y)),
        [204, 203, 203, 203],
      );
    });

    it('BEP 32: want n4+n6 and want n6 over IPv4', async () => {
      const both = reply(
        await probe.ask(client.port, 'find_node', {
          id: randomBytes(20),
          target: randomBytes(20),
          want: [N4, N6],
        }),
      );
      assert.ok(both.nodes instanceof Uint8Array && (decodeNodes(both.nodes, 20, 4)?.length ?? 0) > 0);
      assert.equal(both.nodes6, undefined, `${name} has no IPv6 socket and sends no nodes6 key`);
      const only6 = reply(
        await probe.ask(client.port, 'find_node', {
          id: randomBytes(20),
          target: randomBytes(20),
          want: [N6],
        }),
      );
      if (lt) assert.equal(only6.nodes, undefined, 'libtorrent honours want: no n4 asked, no nodes');
      else assert.ok(only6.nodes instanceof Uint8Array, 'bittorrent-dht ignores want and sends nodes');
      // kadmium (dual stack on loopback) answers the same query with both keys.
      const ours = reply(
        await probe.ask(net.nodes[0]!.address.port, 'find_node', {
          id: randomBytes(20),
          target: randomBytes(20),
          want: [N4, N6],
        }),
      );
      assert.ok(ours.nodes instanceof Uint8Array && ours.nodes6 instanceof Uint8Array);
      // And what the client sends us: no want from a v4-only client.
      const fromClient = tap.seen.filter((q) => q.port === client.port);
      assert.ok(fromClient.length > 0, `${name} sent us no queries`);
      assert.ok(fromClient.every((q) => !q.keys.includes('want')));
    });

    it('BEP 33: scrape filters, noseed, and kadmium.scrape over the client', async () => {
      const r = reply(
        await probe.ask(client.port, 'get_peers', { id: randomBytes(20), info_hash: ih, scrape: 1 }),
      );
      if (lt) {
        assert.ok(r.BFsd instanceof Uint8Array && r.BFsd.length === 256, 'libtorrent sends BFsd');
        assert.ok(r.BFpe instanceof Uint8Array && r.BFpe.length === 256, 'libtorrent sends BFpe');
        assert.equal(r.values, undefined, 'libtorrent leaves values out of a scrape reply');
        // Both announcers are 127.0.0.1: one IP in each filter.
        assert.equal(Math.round(new ScrapeBloom(r.BFsd).estimate()), 1);
        assert.equal(Math.round(new ScrapeBloom(r.BFpe).estimate()), 1);
      } else {
        assert.equal(r.BFsd, undefined, 'bittorrent-dht does not implement BEP 33');
        assert.ok(Array.isArray(r.values) && r.values.length >= 1, 'legacy reply: values only');
      }
      const noseed = reply(
        await probe.ask(client.port, 'get_peers', { id: randomBytes(20), info_hash: ih, noseed: 1 }),
      );
      const ports = ((noseed.values as Uint8Array[]) ?? []).map((v) => decodeCompactAddress(v)?.port);
      if (lt) assert.ok(!ports.includes(7001) && ports.length >= 1, `libtorrent honours noseed: ${ports}`);
      else assert.ok(ports.includes(7001), `bittorrent-dht ignores noseed: ${JSON.stringify(ports)}`);
      const scrape = await tapped.scrape(ih, { timeoutMs: 15_000 });
      assert.equal(scrape.seeds, 1);
      assert.equal(scrape.leechers, 1);
      assert.ok(scrape.withFilters >= 4, 'every kadmium node sent filters');
      // And the client's announce_peer to us: libtorrent never sends seed (it is not seeding).
      const announces = tap.seen.filter((q) => q.port === client.port && q.method === 'announce_peer');
      assert.ok(announces.length >= 1, `${name} did not announce to the tapped node`);
      const seeds = [...new Set(announces.map((q) => String(q.a.seed)))];
      assert.deepEqual(seeds, lt ? ['0'] : ['undefined'], `${name} sends seed=0 (libtorrent) or no seed key`);
      assert.ok(
        announces.every((q) => q.a.implied_port === 1),
        `${name} announces with implied_port=1`,
      );
    });

    it('BEP 42: the ip field, the client id, and what kadmium learns', async () => {
      const pong = await probe.ask(client.port, 'ping', { id: randomBytes(20) });
      assert.ok(pong !== 'silence' && pong.y === 'r');
      if (lt) {
        assert.deepEqual(decodeCompactAddress(pong.ip!), { host: '127.0.0.1', port: probe.port, family: 4 });
      } else {
        assert.equal(pong.ip, undefined, 'bittorrent-dht sends no ip');
      }
      const ours = await probe.ask(net.nodes[0]!.address.port, 'ping', { id: randomBytes(20) });
      assert.ok(ours !== 'silence' && ours.y === 'r' && ours.ip instanceof Uint8Array, 'kadmium sends ip');
      // libtorrent derives its id from its external address; on loopback it has none to use.
      const clientId = fromHex(client.nodeIdHex)!;
      assert.equal(isSecureId(clientId, '127.0.0.1'), false, `${name}'s id is not derived from 127.0.0.1`);
      assert.ok(
        [...tapped.table.nodes()].some((c) => c.address.port === client.port),
        'loopback is exempt: the client is in our table under prefer',
      );
      assert.equal(tapped.externalIp(4), '127.0.0.1', 'voted from the ip fields of replies');
      const before = toHex(tapped.id);
      // (15 s: the client refers us to the probe socket, which never answers queries.)
      await tapped.findNode(randomBytes(20), { timeoutMs: 15_000 });
      assert.equal(toHex(tapped.id), before, 'a loopback address never re-derives our id');
    });

    it('BEP 43: a read-only kadmium node is answered but not added', async () => {
      const countBefore = (await client.status()).dhtNodes;
      const ro = new Dht({
        host: '127.0.0.1',
        ipv6: false,
        readOnly: true,
        bootstrap: [`127.0.0.1:${client.port}`],
      });
      try {
        const joined = await ro.start({ timeoutMs: 5000 });
        assert.ok(joined.ok, `${name} answered a ro=1 find_node: ${joined.message}`);
        await ro.findPeers(ih, { timeoutMs: 5000 });
        await new Promise((r) => setTimeout(r, 300));
        const countAfter = (await client.status()).dhtNodes;
        if (lt) assert.equal(countAfter, countBefore, 'libtorrent keeps ro=1 nodes out of its table');
        else assert.equal(countAfter, countBefore + 1, 'bittorrent-dht ignores ro=1 and adds the node');
        // The read-only node answers nothing, so the client gets silence from it.
        const silent = await probe.ask(ro.address.port, 'ping', { id: randomBytes(20) }, false, 500);
        assert.equal(silent, 'silence');
      } finally {
        await ro.close();
      }
      // And kadmium keeps a ro=1 querier out of its own table.
      const roId = randomBytes(20);
      await probe.ask(net.nodes[2]!.address.port, 'ping', { id: roId }, true);
      assert.ok(![...net.nodes[2]!.table.nodes()].some((c) => toHex(c.id) === toHex(roId)));
    });

    it('BEP 51: sample_infohashes', async () => {
      const r = await probe.ask(client.port, 'sample_infohashes', {
        id: randomBytes(20),
        target: randomBytes(20),
      });
      if (lt) {
        const s = reply(r);
        assert.ok(s.samples instanceof Uint8Array && s.samples.length % 20 === 0);
        assert.ok(toHex(s.samples).includes(toHex(ih)), 'libtorrent samples the infohash it stores');
        assert.equal(s.num, 1);
        assert.equal(s.interval, 21600, 'libtorrent resamples every 6 hours');
      } else {
        assert.equal(r, 'silence', 'bittorrent-dht does not answer sample_infohashes at all');
      }
      const walk = await tapped.sampleInfohashes({ target: fromHex(client.nodeIdHex)!, timeoutMs: 15_000 });
      assert.ok(walk.infohashes.some((h) => toHex(h) === toHex(ih)));
      const fromClient = walk.nodes.find((n) => n.address.port === client.port);
      if (lt) assert.equal(fromClient?.interval, 21600);
      else {
        assert.equal(fromClient, undefined);
        // The walk does not wait for silent nodes; their queries time out after it (2 s, one
        // retry). Then the client must still be in our table.
        await new Promise((resolve) => setTimeout(resolve, 4500));
        assert.ok(
          [...tapped.table.nodes()].some((c) => c.address.port === client.port),
          'silence to sample_infohashes did not cost bittorrent-dht its place in our table',
        );
      }
    });
  });
}
