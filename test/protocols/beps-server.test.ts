// Server side of BEP 32 (want, nodes6), BEP 33 (scrape, noseed), BEP 43 (read-only) and BEP 51
// (sample_infohashes), against a kadmium node on an in-memory network with a raw KRPC client.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { Dht, type DhtOptions } from '../../src/node/dht.js';
import { ScrapeBloom } from '../../src/protocols/mainline/scrape-bloom.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import type { BDict } from '../../src/wire/bencode.js';
import { decodeCompactAddress, decodeNodes } from '../../src/wire/compact.js';
import { decodeKrpc, encodeQuery, type KrpcMessage } from '../../src/wire/krpc.js';

const id = new Uint8Array(20).fill(0x42);
const infoHash = new Uint8Array(20).fill(0xaa);
const N4 = new Uint8Array([0x6e, 0x34]);
const N6 = new Uint8Array([0x6e, 0x36]);

async function setup(options: Partial<DhtOptions> = {}) {
  const clock = new VirtualClock();
  const random = new SeededRandom(5);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => 1 });
  const dht = new Dht({
    transport: net.createTransport('2.0.0.1'),
    transport6: net.createTransport('2001:db8::1'),
    clock,
    random,
    bootstrap: false,
    secureIds: 'off',
    ...options,
  });
  await dht.listen();
  const clients = new Map<string, { inbox: KrpcMessage[]; send: (b: Uint8Array, to: 4 | 6) => void }>();
  const client = (host: string, port = 4000) => {
    const key = `${host}:${port}`;
    let c = clients.get(key);
    if (!c) {
      const t = net.createTransport(host, port);
      const inbox: KrpcMessage[] = [];
      t.onMessage((data) => {
        const m = decodeKrpc(data);
        if (m.ok) inbox.push(m.message);
      });
      c = {
        inbox,
        send: (b, to) =>
          t.send(b, to === 6 ? (dht.address6 as NonNullable<typeof dht.address6>) : dht.address),
      };
      clients.set(key, c);
    }
    return c;
  };
  let n = 0;
  const ask = async (method: string, a: BDict, from = '3.0.0.1', extras?: { ro?: boolean }) => {
    const c = client(from);
    const t = new Uint8Array([n >> 8, n++ & 0xff]);
    c.send(encodeQuery(t, method, a, extras), from.includes(':') ? 6 : 4);
    await clock.advance(5);
    return c.inbox.find((m) => m.t[0] === t[0] && m.t[1] === t[1]);
  };
  return { dht, clock, ask, net };
}

function r(m: KrpcMessage | undefined): BDict {
  assert.ok(m, 'no reply');
  assert.equal(m.y, 'r', `expected a reply, got ${JSON.stringify(m)}`);
  return (m as { r: BDict }).r;
}

describe('BEP 32 server: want, nodes and nodes6', () => {
  it('answers in the querier family by default and in both with want n4+n6', async () => {
    const { ask, dht } = await setup();
    // Fill both tables with v4 and v6 nodes (each in its own /24 or /48) that answered us: only
    // those are handed out (a query alone admits nobody).
    for (let i = 1; i <= 3; i++) {
      const v4 = { host: `5.0.${i}.1`, port: 4000, family: 4 as const };
      const v6 = { host: `2001:db8:${i}::1`, port: 4000, family: 6 as const };
      dht.table.observe({ id: asNodeId(new Uint8Array(20).fill(i)), address: v4 }, true, 1);
      dht.table6!.observe({ id: asNodeId(new Uint8Array(20).fill(0x10 + i)), address: v6 }, true, 1);
    }
    assert.equal(dht.table.size, 3);
    assert.equal(dht.table6?.size, 3);
    const v4 = r(await ask('find_node', { id, target: id }));
    assert.ok(v4.nodes instanceof Uint8Array && v4.nodes6 === undefined);
    assert.equal(decodeNodes(v4.nodes, 20, 4)?.length, 3, 'every v4 node that answered us');
    const v6 = r(await ask('find_node', { id, target: id }, '2001:db8::99'));
    assert.ok(v6.nodes6 instanceof Uint8Array && v6.nodes === undefined);
    const six = decodeNodes(v6.nodes6, 20, 6) ?? [];
    assert.equal(six.length, 3);
    assert.ok(six.every((n) => n.address.family === 6 && n.address.host.startsWith('2001:db8:')));
    const both = r(await ask('get_peers', { id, info_hash: infoHash, want: [N4, N6] }));
    assert.equal(decodeNodes(both.nodes as Uint8Array, 20, 4)?.length, 3);
    assert.equal(decodeNodes(both.nodes6 as Uint8Array, 20, 6)?.length, 3);
    const only6 = r(await ask('find_node', { id, target: id, want: [N6] }));
    assert.equal(only6.nodes, undefined);
    assert.ok(only6.nodes6 instanceof Uint8Array);
    // Junk in want is ignored, not an error.
    const junk = r(await ask('find_node', { id, target: id, want: [new Uint8Array([1]), 7, N4] }));
    assert.ok(junk.nodes instanceof Uint8Array);
  });

  it('a dual-stack node asks for both families with want; a v4-only node sends no want', async () => {
    for (const dual of [true, false]) {
      const clock = new VirtualClock();
      const random = new SeededRandom(8);
      const net = new MemoryNetwork({ clock, random, latencyMs: () => 1 });
      const dht = new Dht({
        transport: net.createTransport('2.0.0.1'),
        transport6: dual ? net.createTransport('2001:db8::1') : undefined,
        clock,
        random,
        bootstrap: ['5.0.0.1:6881'],
      });
      const remote = net.createTransport('5.0.0.1', 6881);
      const seen: KrpcMessage[] = [];
      remote.onMessage((data) => {
        const m = decodeKrpc(data);
        if (m.ok) seen.push(m.message);
      });
      await dht.listen();
      dht.bootstrap({ timeoutMs: 100 }).catch(() => undefined);
      await clock.advance(10);
      const q = seen[0];
      assert.ok(q?.y === 'q' && q.q === 'find_node');
      const want = q.y === 'q' ? q.a.want : undefined;
      if (dual) assert.deepEqual(want, [N4, N6]);
      else assert.equal(want, undefined);
      await clock.advance(5000);
      await dht.close();
    }
  });

  it('stores v6 announces and returns compact v6 peers (18 bytes) to v6 queriers only', async () => {
    const { ask } = await setup();
    const gp = r(await ask('get_peers', { id, info_hash: infoHash }, '2001:db8::7'));
    r(
      await ask(
        'announce_peer',
        { id, info_hash: infoHash, port: 7000, token: gp.token as Uint8Array },
        '2001:db8::7',
      ),
    );
    const v6 = r(await ask('get_peers', { id, info_hash: infoHash }, '2001:db8::8'));
    assert.ok(Array.isArray(v6.values));
    const values = v6.values as Uint8Array[];
    assert.equal(values[0]?.length, 18);
    assert.deepEqual(decodeCompactAddress(values[0] as Uint8Array), {
      host: '2001:db8::7',
      port: 7000,
      family: 6,
    });
    const v4 = r(await ask('get_peers', { id, info_hash: infoHash }));
    assert.equal(v4.values, undefined, 'a v4 querier cannot use v6 peers');
  });
});

describe('BEP 33 server: scrape and noseed', () => {
  it('returns BFsd/BFpe of stored seeds and peers, and no filters when it holds none', async () => {
    const { ask, dht } = await setup();
    for (let i = 0; i < 30; i++)
      await dht.peers.announce(infoHash, { host: `9.0.0.${i}`, port: 1000, family: 4 }, i < 10, 0);
    await dht.peers.announce(infoHash, { host: '2001:db8::5', port: 1000, family: 6 }, true, 0);
    const reply = r(await ask('get_peers', { id, info_hash: infoHash, scrape: 1 }));
    assert.ok(reply.BFsd instanceof Uint8Array && reply.BFsd.length === 256);
    assert.ok(reply.BFpe instanceof Uint8Array && reply.BFpe.length === 256);
    const seeds = new ScrapeBloom(reply.BFsd).estimate();
    const peers = new ScrapeBloom(reply.BFpe).estimate();
    assert.ok(Math.abs(seeds - 11) < 1.5, `seeds ${seeds}`);
    assert.ok(Math.abs(peers - 20) < 2, `peers ${peers}`);
    const expected = new ScrapeBloom();
    for (let i = 0; i < 10; i++) expected.insertHost(`9.0.0.${i}`);
    expected.insertHost('2001:db8::5');
    assert.deepEqual(reply.BFsd, expected.bits, 'exactly the seeds, v4 and v6');
    assert.ok((reply.values as Uint8Array[]).length <= 50, 'values halved to make room');
    const none = r(await ask('get_peers', { id, info_hash: new Uint8Array(20).fill(1), scrape: 1 }));
    assert.equal(none.BFsd, undefined);
    assert.equal(none.BFpe, undefined);
    const plain = r(await ask('get_peers', { id, info_hash: infoHash }));
    assert.equal(plain.BFsd, undefined, 'no filters unless asked');
  });

  it('leaves seeds out of values with noseed=1', async () => {
    const { ask, dht } = await setup();
    await dht.peers.announce(infoHash, { host: '9.0.0.1', port: 1, family: 4 }, true, 0);
    await dht.peers.announce(infoHash, { host: '9.0.0.2', port: 2, family: 4 }, false, 0);
    const all = r(await ask('get_peers', { id, info_hash: infoHash }));
    assert.equal((all.values as Uint8Array[]).length, 2);
    const leechers = r(await ask('get_peers', { id, info_hash: infoHash, noseed: 1 }));
    const values = (leechers.values as Uint8Array[]).map((v) => decodeCompactAddress(v)?.host);
    assert.deepEqual(values, ['9.0.0.2']);
  });

  it('stores the seed flag of announce_peer', async () => {
    const { ask, dht } = await setup();
    const gp = r(await ask('get_peers', { id, info_hash: infoHash }));
    r(
      await ask('announce_peer', {
        id,
        info_hash: infoHash,
        port: 9,
        seed: 1,
        token: gp.token as Uint8Array,
      }),
    );
    const stored = await dht.peers.peers(infoHash, 10, 4, 0);
    assert.equal(stored[0]?.seed, true);
  });
});

describe('BEP 51 server: sample_infohashes', () => {
  it('answers samples (even empty), num, interval and nodes; 203 without target', async () => {
    const { ask, dht, clock } = await setup({ sampleIntervalS: 30 });
    const empty = r(await ask('sample_infohashes', { id, target: id }));
    assert.ok(
      empty.samples instanceof Uint8Array && empty.samples.length === 0,
      'samples is present when empty',
    );
    assert.equal(empty.num, 0);
    assert.ok(empty.nodes instanceof Uint8Array);
    const err = await ask('sample_infohashes', { id });
    assert.ok(err?.y === 'e' && err.code === 203);
    // The empty sample is cached for the interval; a fresh one after it.
    const hashes = [];
    for (let i = 0; i < 25; i++) {
      const h = new Uint8Array(20).fill(i + 1);
      hashes.push(Buffer.from(h).toString('hex'));
      await dht.peers.announce(h, { host: '9.0.0.1', port: 1, family: 4 }, false, 0);
    }
    const cached = r(await ask('sample_infohashes', { id, target: id }));
    assert.equal((cached.samples as Uint8Array).length, 0);
    assert.ok((cached.interval as number) <= 30 && (cached.interval as number) > 0);
    await clock.advance(31_000);
    const full = r(await ask('sample_infohashes', { id, target: id }));
    const samples = full.samples as Uint8Array;
    assert.equal(samples.length, 20 * 20, 'at most 20 samples fit a datagram');
    assert.equal(full.num, 25);
    assert.equal(full.interval, 30);
    const got = new Set<string>();
    for (let off = 0; off < samples.length; off += 20)
      got.add(Buffer.from(samples.subarray(off, off + 20)).toString('hex'));
    assert.equal(got.size, 20, 'no duplicates');
    for (const h of got) assert.ok(hashes.includes(h));
  });
});

describe('BEP 43 read-only node', () => {
  it('answers nothing (not even 203) and marks its own queries ro=1', async () => {
    const { ask, dht, net, clock } = await setup({ readOnly: true });
    assert.equal(await ask('ping', { id }), undefined);
    assert.equal(await ask('ping', {}), undefined, 'no 203 for a malformed query either');
    assert.equal(await ask('get_peers', { id, info_hash: infoHash }), undefined);
    // Its outbound queries carry ro=1.
    const peer = net.createTransport('7.0.0.1', 6881);
    const seen: KrpcMessage[] = [];
    peer.onMessage((data) => {
      const m = decodeKrpc(data);
      if (m.ok) seen.push(m.message);
    });
    dht.ping(peer.address, { timeoutMs: 50 }).catch(() => undefined);
    await clock.advance(10);
    assert.equal(seen[0]?.y, 'q');
    assert.equal(seen[0]?.y === 'q' && seen[0].ro, true);
    await clock.advance(5000);
  });
});
