// Edge cases the BEPs define, where test/protocols/bep5-server.test.ts and test/rpc/rpc.test.ts
// do not already cover them: duplicated and too-late replies, replies with bad ids or nodes,
// more 203 cases, implied_port without port, error replies versus silence in the routing table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import type { BDict } from '../../src/wire/bencode.js';
import { encodeNodes } from '../../src/wire/compact.js';
import {
  decodeKrpc,
  encodeError,
  encodeQuery,
  encodeResponse,
  type KrpcMessage,
} from '../../src/wire/krpc.js';

const id = new Uint8Array(20).fill(0x42);
const infoHash = new Uint8Array(20).fill(0xaa);

/** A kadmium node and a scripted remote that answers each query with whatever `script` says. */
async function setup(options: { duplicateRate?: number } = {}) {
  const clock = new VirtualClock();
  const random = new SeededRandom(21);
  const net = new MemoryNetwork({
    clock,
    random,
    latencyMs: () => 2,
    duplicateRate: options.duplicateRate ?? 0,
  });
  const dht = new Dht({
    transport: net.createTransport('2.0.0.1'),
    clock,
    random,
    bootstrap: false,
    secureIds: 'off',
  });
  await dht.listen();
  const remote = net.createTransport('3.0.0.1', 6881);
  const queries: KrpcMessage[] = [];
  let script: (q: KrpcMessage) => Uint8Array[] = () => [];
  remote.onMessage((data) => {
    const m = decodeKrpc(data);
    if (!m.ok) return;
    queries.push(m.message);
    for (const out of script(m.message)) remote.send(out, dht.address);
  });
  const setScript = (s: (q: KrpcMessage) => Uint8Array[]): void => {
    script = s;
  };
  // A raw querier, for server-side cases.
  const raw = net.createTransport('4.0.0.1', 4000);
  const inbox: KrpcMessage[] = [];
  raw.onMessage((data) => {
    const m = decodeKrpc(data);
    if (m.ok) inbox.push(m.message);
  });
  let n = 0;
  const ask = async (method: string, a: BDict): Promise<KrpcMessage | undefined> => {
    const t = new Uint8Array([n++]);
    raw.send(encodeQuery(t, method, a), dht.address);
    await clock.advance(10);
    return inbox.find((m) => m.t[0] === t[0]);
  };
  return { dht, clock, remote, queries, setScript, ask };
}

const code = (m: KrpcMessage | undefined): number | undefined => (m?.y === 'e' ? m.code : undefined);

describe('conformance: replies', () => {
  it('uses a duplicated reply once and drops the copy as unsolicited', async () => {
    const { dht, clock, remote, setScript } = await setup({ duplicateRate: 1 });
    setScript((q) => [encodeResponse(q.t, { id: new Uint8Array(20).fill(7) })]);
    const pong = dht.ping(remote.address, { timeoutMs: 1000 });
    await clock.advance(50);
    assert.deepEqual((await pong).id, new Uint8Array(20).fill(7));
    const s = dht.stats().rpc!;
    assert.equal(s.outbound.ping?.rx, 1, 'one reply used');
    assert.ok(s.dropped.unsolicited >= 1, 'the copy was dropped');
    assert.equal(dht.table.size, 1, 'the node was added once');
  });

  it('drops a reply that arrives after the query finally timed out', async () => {
    const { dht, clock, remote, queries } = await setup();
    const pong = dht.ping(remote.address, { timeoutMs: 10_000 });
    pong.catch(() => undefined);
    await clock.advance(5000); // 2 s timeout, one retry, 2 s again
    await assert.rejects(pong, { code: 'TIMEOUT' });
    assert.equal(queries.length, 2, 'sent twice (one retry)');
    remote.send(encodeResponse(queries[0]!.t, { id: new Uint8Array(20).fill(7) }), dht.address);
    await clock.advance(10);
    assert.equal(dht.stats().rpc!.dropped.unsolicited, 1);
    assert.equal(dht.table.size, 0, 'a late stranger is not added');
  });

  it('rejects a reply whose id is not 20 bytes and does not add its sender', async () => {
    const { dht, clock, remote, setScript } = await setup();
    setScript((q) => [encodeResponse(q.t, { id: new Uint8Array(19) })]);
    const pong = dht.ping(remote.address, { timeoutMs: 1000 });
    pong.catch(() => undefined);
    await clock.advance(20);
    await assert.rejects(pong, { code: 'BAD_REPLY' });
    assert.equal(dht.table.size, 0);
  });

  it('ignores unknown keys in replies, a nodes string of the wrong length, and port-0 entries', async () => {
    const { dht, clock, remote, setScript } = await setup();
    const good = {
      id: new Uint8Array(20).fill(9),
      address: { host: '5.0.0.1', port: 7000, family: 4 as const },
    };
    const zero = {
      id: new Uint8Array(20).fill(8),
      address: { host: '5.0.1.1', port: 0, family: 4 as const },
    };
    let round = 0;
    setScript((q) => {
      round++;
      const nodes = round === 1 ? encodeNodes([good, zero], 4) : new Uint8Array(27);
      return [encodeResponse(q.t, { id: new Uint8Array(20).fill(3), nodes, zzz: 5, p: 6881 })];
    });
    // find_node through the node's lookup: seed it with the remote first.
    const pong = dht.ping(remote.address, { timeoutMs: 1000 });
    await clock.advance(20);
    await pong;
    const found = dht.findNode(new Uint8Array(20).fill(9), { timeoutMs: 20_000 });
    found.catch(() => undefined);
    await clock.advance(20_000);
    const contacts = await found;
    assert.ok(
      contacts.some((c) => c.address.host === '3.0.0.1'),
      'the remote answered despite junk keys',
    );
    assert.ok(!contacts.some((c) => c.address.port === 0), 'port 0 entries are dropped');
  });

  it('counts silence against a node, but not an error reply (which proves it is alive)', async () => {
    const { dht, clock, remote, setScript } = await setup();
    setScript((q) => [encodeResponse(q.t, { id: new Uint8Array(20).fill(7) })]);
    const first = dht.ping(remote.address, { timeoutMs: 1000 });
    await clock.advance(20);
    await first;
    setScript((q) => [encodeError(q.t, 201, 'busy')]);
    const errored = dht.ping(remote.address, { timeoutMs: 1000 });
    errored.catch(() => undefined);
    await clock.advance(20);
    await assert.rejects(errored, { code: 'KRPC_REMOTE_ERROR', krpcCode: 201 });
    assert.equal(dht.table.getByAddress(remote.address)?.failures, 0);
    setScript(() => []);
    const silent = dht.ping(remote.address, { timeoutMs: 10_000 });
    silent.catch(() => undefined);
    await clock.advance(5000);
    await assert.rejects(silent, { code: 'TIMEOUT' });
    assert.equal(dht.table.getByAddress(remote.address)?.failures, 1);
  });
});

describe('conformance: optional extensions', () => {
  it('silence to sample_infohashes (BEP 51 unsupported) does not count against the node', async () => {
    const { dht, clock, remote, setScript } = await setup();
    setScript((q) =>
      q.y === 'q' && q.q === 'ping' ? [encodeResponse(q.t, { id: new Uint8Array(20).fill(7) })] : [],
    );
    const pong = dht.ping(remote.address, { timeoutMs: 1000 });
    await clock.advance(20);
    await pong;
    const walk = dht.sampleInfohashes({ timeoutMs: 20_000 });
    walk.catch(() => undefined);
    await clock.advance(10_000);
    const result = await walk;
    assert.equal(result.nodes.length, 0, 'no samples from a node without BEP 51');
    await clock.advance(10_000); // the unanswered query times out, retry included
    assert.equal(dht.table.getByAddress(remote.address)?.failures, 0, 'still a good node');
  });
});

describe('conformance: queries', () => {
  it('203 for missing or wrong-length arguments of announce_peer and sample_infohashes', async () => {
    const { ask } = await setup();
    assert.equal(
      code(await ask('announce_peer', { id, port: 1, token: new Uint8Array(4) })),
      203,
      'no info_hash',
    );
    assert.equal(
      code(await ask('announce_peer', { info_hash: infoHash, port: 1, token: new Uint8Array(4) })),
      203,
    );
    assert.equal(code(await ask('announce_peer', { id, info_hash: infoHash, port: 1 })), 203, 'no token');
    assert.equal(
      code(await ask('announce_peer', { id, info_hash: infoHash, port: 1, token: 5 })),
      203,
      'int token',
    );
    assert.equal(code(await ask('sample_infohashes', { id, target: new Uint8Array(21) })), 203);
    assert.equal(code(await ask('sample_infohashes', { id: new Uint8Array(21), target: id })), 203);
    assert.equal(code(await ask('find_node', { id, target: new Uint8Array(19) })), 203);
    assert.equal(code(await ask('get_peers', { id: 7, info_hash: infoHash })), 203, 'integer id');
  });

  it('accepts implied_port=1 with no port at all and stores the source port', async () => {
    const { ask, dht } = await setup();
    const gp = await ask('get_peers', { id, info_hash: infoHash });
    assert.ok(gp?.y === 'r');
    const token = (gp as { r: BDict }).r.token as Uint8Array;
    const ok = await ask('announce_peer', { id, info_hash: infoHash, implied_port: 1, token });
    assert.equal(ok?.y, 'r');
    const stored = await dht.peers.peers(infoHash, 10, 4, 0);
    assert.deepEqual(
      stored.map((p) => p.address.port),
      [4000],
    );
  });
});
