// Proves the interop harness itself: real libtorrent and bittorrent-dht nodes talking to each
// other over real UDP on 127.0.0.1. No kadmium code is involved. Nothing here skips: a client that
// cannot start fails the suite with its stderr (run scripts/deps/libtorrent.sh first).
//
// Settings each client needs on loopback (details and reasons in README.md and in the sources):
// - libtorrent (lt_node.py): dht_block_ratelimit raised (default 5 pkt/s per IP blocks 127.0.0.1),
//   dht_restrict_routing_ips / dht_restrict_search_ips off (every node shares one IP),
//   dht_prefer_verified_node_ids / dht_enforce_node_id off (BEP 42 ids cannot match 127.0.0.1),
//   dht_ignore_dark_internet off, dht_read_only off, dht_upload_rate_limit raised,
//   dht_bootstrap_nodes '' (no public routers), lsd/upnp/natpmp off, listen on 127.0.0.1 only.
// - bittorrent-dht: bootstrap false or a loopback list (omitted = public routers), listen on
//   127.0.0.1 in the constructor's tick, an ed25519 `verify` for mutable items, k-rpc timeout 1 s.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BittorrentDhtPeer } from './bittorrent-dht-peer.js';
import {
  ed25519FromSeed,
  type InteropPeer,
  immutableTargetHex,
  mutableTargetHex,
  type PeerAddress,
  startAll,
  verifyMutable,
} from './common.js';
import { LibtorrentPeer } from './libtorrent-peer.js';

const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');
const hasPeer = (peers: PeerAddress[], p: PeerAddress): boolean =>
  peers.some((x) => x.host === p.host && x.port === p.port);

async function stopAll(peers: Array<InteropPeer | undefined>): Promise<void> {
  await Promise.all(peers.map((p) => p?.stop()));
}

/** Announce on `from`, look it up on `to`; asserts `to` finds `from`'s own address. */
async function announceAndFind(from: InteropPeer, to: InteropPeer): Promise<void> {
  const ih = randomHex(20);
  const announced = await from.announce(ih, { timeoutMs: 8000 });
  assert.ok(announced.acks >= 1, `${from.kind} announce was not acknowledged by any node`);
  assert.equal(announced.port, from.port);
  const found = await to.getPeers(ih, { timeoutMs: 8000, untilPeers: 1 });
  assert.ok(
    hasPeer(found.peers, from.address),
    `${to.kind} did not find ${from.kind} at ${from.address.port}; got ${JSON.stringify(found.peers)}`,
  );
}

/** put_immutable on one, get_immutable on the other, byte-exact. */
async function immutableRoundTrip(putter: InteropPeer, getter: InteropPeer): Promise<void> {
  const value = { kadmium: `harness ${randomHex(4)}`, n: -42, list: ['a', 1] };
  const put = await putter.putImmutable(value, { timeoutMs: 8000 });
  assert.equal(put.targetHex, immutableTargetHex(value), 'target is SHA-1 of the bencoded value');
  assert.ok(put.numSuccess >= 1, `${putter.kind} put_immutable stored on no node`);
  const got = await getter.getImmutable(put.targetHex, { timeoutMs: 8000 });
  assert.equal(got.found, true, `${getter.kind} did not find the immutable item`);
  assert.deepEqual(got.value, value);
  assert.equal(immutableTargetHex(value), put.targetHex);
}

/** put_mutable with salt on one, get_mutable on the other; then an update with seq + 1. */
async function mutableRoundTrip(putter: InteropPeer, getter: InteropPeer): Promise<void> {
  const seedHex = randomHex(32);
  const salt = `salt-${randomHex(3)}`;
  const publicKeyHex = ed25519FromSeed(seedHex).publicKey.toString('hex');
  const put = await putter.putMutable({ seedHex, value: 'first value', salt }, { timeoutMs: 8000 });
  assert.equal(put.publicKeyHex, publicKeyHex, 'public key derived from the seed as RFC 8032 says');
  assert.equal(put.seq, 1);
  assert.ok(put.numSuccess >= 1, `${putter.kind} put_mutable stored on no node`);
  const got = await getter.getMutable(publicKeyHex, salt, { timeoutMs: 8000 });
  assert.equal(got.found, true, `${getter.kind} did not find the mutable item`);
  assert.equal(got.value, 'first value');
  assert.equal(got.seq, 1);
  assert.equal(got.signatureHex, put.signatureHex, 'ed25519 signatures are deterministic');
  assert.ok(verifyMutable(got), 'signature verifies over salt, seq and v (BEP 44)');

  const put2 = await getter.putMutable({ seedHex, value: 'second value', salt }, { timeoutMs: 8000 });
  assert.equal(put2.seq, 2, 'an update takes the seq found in the DHT plus one');
  const got2 = await putter.getMutable(publicKeyHex, salt, { timeoutMs: 8000 });
  assert.equal(got2.value, 'second value');
  assert.equal(got2.seq, 2);
  assert.ok(verifyMutable(got2));
  assert.notEqual(mutableTargetHex(publicKeyHex, salt), mutableTargetHex(publicKeyHex, ''));
}

describe('harness: starting peers fails loudly', { timeout: 15000 }, () => {
  it('rejects with the reason when the interpreter cannot run lt_node.py', async () => {
    await assert.rejects(
      LibtorrentPeer.start({ python: '/bin/false', readyTimeoutMs: 3000 }),
      (err: Error) => {
        assert.match(err.message, /libtorrent peer failed to start: exited early/);
        return true;
      },
    );
    await assert.rejects(
      LibtorrentPeer.start({ python: '/nonexistent/python3', readyTimeoutMs: 3000 }),
      /spawn error|exited early/,
    );
  });

  it('reports the node id and port a libtorrent node really uses', async () => {
    const lt = await LibtorrentPeer.start();
    try {
      const st = await lt.status();
      assert.equal(st.port, lt.port);
      assert.match(st.nodeIdHex, /^[0-9a-f]{40}$/);
      assert.equal(st.nodeIdHex, lt.nodeIdHex);
      assert.match(lt.libtorrentVersion, /^2\./);
      await assert.rejects(lt.request('no_such_command'), /unknown cmd/);
      await assert.rejects(lt.announce(randomHex(20), { port: lt.port + 1 }), /only announce its own port/);
    } finally {
      await lt.stop();
    }
  });
});

// (a) libtorrent <-> libtorrent. Settings: everything listed for libtorrent at the top of this file;
// B joins through bootstrap() (add_dht_node), not dht_bootstrap_nodes, because libtorrent never
// puts router nodes into its routing table.
describe('harness: libtorrent <-> libtorrent', { timeout: 40000 }, () => {
  let a: LibtorrentPeer | undefined;
  let b: LibtorrentPeer | undefined;
  before(async () => {
    [a, b] = await startAll([LibtorrentPeer.start(), LibtorrentPeer.start()]);
    const joined = await b.bootstrap([a.address], { timeoutMs: 5000 });
    assert.ok(joined.dhtNodes >= 1);
  });
  after(() => stopAll([a, b]));

  it('B finds the peer A announced', async () => {
    await announceAndFind(a!, b!);
  });
  it('put_immutable on A, get_immutable on B', async () => {
    await immutableRoundTrip(a!, b!);
  });
  it('get_immutable of an unknown target reports not found', async () => {
    const got = await b!.getImmutable(randomHex(20), { timeoutMs: 5000 });
    assert.equal(got.found, false);
  });
  it('put_mutable with salt on A, get_mutable on B returns value, seq and signature', async () => {
    await mutableRoundTrip(a!, b!);
  });
  it('stores non-UTF-8 immutable values byte-exactly', async () => {
    const bencoded = Buffer.concat([Buffer.from('3:'), Buffer.from([0xff, 0x00, 0x80])]).toString('hex');
    const put = await a!.putImmutableBencoded(bencoded, { timeoutMs: 8000 });
    const got = await b!.getImmutable(put.targetHex, { timeoutMs: 8000 });
    assert.equal(got.valueBencodedHex, bencoded);
    assert.deepEqual(got.value, { hex: 'ff0080' });
  });
});

// (b) bittorrent-dht x3. Settings: bootstrap false for the first, [first] for the others,
// listen on 127.0.0.1, verify = node:crypto ed25519, k-rpc query timeout 1 s.
describe('harness: bittorrent-dht <-> bittorrent-dht', { timeout: 40000 }, () => {
  let a: BittorrentDhtPeer | undefined;
  let b: BittorrentDhtPeer | undefined;
  let c: BittorrentDhtPeer | undefined;
  before(async () => {
    a = await BittorrentDhtPeer.start();
    [b, c] = await startAll([
      BittorrentDhtPeer.start({ bootstrap: [a.address] }),
      BittorrentDhtPeer.start({ bootstrap: [a.address] }),
    ]);
    await a.bootstrap([b.address, c.address], { timeoutMs: 5000 });
  });
  after(() => stopAll([a, b, c]));

  it('C finds the peer B announced', async () => {
    await announceAndFind(b!, c!);
  });
  it('put_immutable on B, get_immutable on C', async () => {
    await immutableRoundTrip(b!, c!);
  });
  it('put_mutable with salt on B, get_mutable on C returns value, seq and signature', async () => {
    await mutableRoundTrip(b!, c!);
  });
});

// (c) libtorrent <-> bittorrent-dht, both ways. Settings: the union of the above. Three nodes:
// with only two, an item bittorrent-dht puts is invisible to libtorrent's get, because
// bittorrent-dht keeps no copy of its own mutable puts and libtorrent's get never reads its own
// store (README.md, quirks). bt2 is one more bittorrent-dht node that stores items.
describe('harness: libtorrent <-> bittorrent-dht', { timeout: 40000 }, () => {
  let lt: LibtorrentPeer | undefined;
  let bt: BittorrentDhtPeer | undefined;
  let bt2: BittorrentDhtPeer | undefined;
  before(async () => {
    lt = await LibtorrentPeer.start();
    [bt, bt2] = await startAll([
      BittorrentDhtPeer.start({ bootstrap: [lt.address] }),
      BittorrentDhtPeer.start({ bootstrap: [lt.address] }),
    ]);
    const joined = await lt.bootstrap([bt.address, bt2.address], { timeoutMs: 5000, minNodes: 2 });
    assert.ok(joined.dhtNodes >= 2);
    await bt.bootstrap([bt2.address], { timeoutMs: 5000 });
  });
  after(() => stopAll([lt, bt, bt2]));

  it('bittorrent-dht finds the peer libtorrent announced', async () => {
    await announceAndFind(lt!, bt!);
  });
  it('libtorrent finds the peer bittorrent-dht announced', async () => {
    await announceAndFind(bt!, lt!);
  });
  it('immutable items cross both ways', async () => {
    await immutableRoundTrip(lt!, bt!);
    await immutableRoundTrip(bt!, lt!);
  });
  it('mutable items cross both ways', async () => {
    await mutableRoundTrip(lt!, bt!);
    await mutableRoundTrip(bt!, lt!);
  });
});
