import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import { type BDict, encode } from '../../src/wire/bencode.js';
import { decodeCompactAddress, decodeNodes } from '../../src/wire/compact.js';
import { type KrpcMessage, decodeKrpc, encodeQuery } from '../../src/wire/krpc.js';

/** One kadmium node and a raw client on an in-memory network, driven by virtual time. */
async function setup() {
  const clock = new VirtualClock();
  const random = new SeededRandom(11);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => 1 });
  const dht = new Dht({ transport: net.createTransport('2.0.0.1'), clock, random, bootstrap: false });
  await dht.listen();
  const client = net.createTransport('3.0.0.1', 4000);
  const inbox: KrpcMessage[] = [];
  /** Queries the node sent to our raw client (verification pings). */
  const queries: KrpcMessage[] = [];
  client.onMessage((data) => {
    const m = decodeKrpc(data);
    if (m.ok) (m.message.y === 'q' ? queries : inbox).push(m.message);
  });
  let n = 0;
  const ask = async (method: string, a: BDict): Promise<KrpcMessage> => {
    const t = new Uint8Array([n++]);
    client.send(encodeQuery(t, method, a), dht.address);
    await clock.advance(5);
    const reply = inbox.find((m) => m.t[0] === t[0]);
    assert.ok(reply, `no reply to ${method}`);
    return reply;
  };
  const raw = async (bytes: Uint8Array): Promise<KrpcMessage | undefined> => {
    const before = inbox.length;
    client.send(bytes, dht.address);
    await clock.advance(5);
    return inbox[before];
  };
  return { dht, clock, ask, raw, queries, net };
}

const id = new Uint8Array(20).fill(0x42);
const infoHash = new Uint8Array(20).fill(0xaa);

function errorCode(m: KrpcMessage): number | undefined {
  return m.y === 'e' ? m.code : undefined;
}

describe('BEP 5 server', () => {
  it('answers ping with our id and echoes our address in ip (BEP 42)', async () => {
    const { dht, ask } = await setup();
    const r = await ask('ping', { id });
    assert.equal(r.y, 'r');
    if (r.y !== 'r') return;
    assert.deepEqual(r.r.id, dht.id);
    assert.deepEqual(decodeCompactAddress(r.ip!), { host: '3.0.0.1', port: 4000, family: 4 });
    assert.equal(dht.table.size, 0, 'a query alone does not put the querier in the routing table');
  });

  it('ignores unknown keys, answers 203 for missing or wrong-length ids and 204 for unknown methods', async () => {
    const { ask } = await setup();
    assert.equal((await ask('ping', { id, extra: 5, zz: new Uint8Array(3) })).y, 'r');
    assert.equal(errorCode(await ask('ping', {})), 203);
    assert.equal(errorCode(await ask('ping', { id: new Uint8Array(19) })), 203);
    assert.equal(errorCode(await ask('find_node', { id })), 203, 'find_node without target');
    assert.equal(errorCode(await ask('get_peers', { id })), 203, 'get_peers without info_hash');
    assert.equal(errorCode(await ask('get_peers', { id, info_hash: new Uint8Array(21) })), 203);
    assert.equal(errorCode(await ask('frobnicate', { id })), 204);
  });

  it('verifies a new querier with a ping, admits only one that answered, and hands out only those', async () => {
    const { ask, queries, dht, clock, net } = await setup();
    await ask('ping', { id });
    assert.equal(queries.length, 1, 'the querier was pinged once to verify it');
    assert.equal(queries[0]?.y === 'q' && queries[0].q, 'ping');
    await clock.advance(10_000);
    assert.equal(dht.table.size, 0, 'it never answered: it never entered the table');
    // Our raw client never answers that ping: it is not handed out to others.
    const r = await ask('find_node', { id, target: new Uint8Array(20) });
    assert.ok(r.y === 'r' && r.r.nodes instanceof Uint8Array);
    if (r.y === 'r') assert.equal(decodeNodes(r.r.nodes as Uint8Array, 20, 4)?.length, 0);
    // A real node that queries it answers the verification ping, and is then handed out.
    const other = new Dht({
      transport: net.createTransport('4.0.0.1'),
      clock,
      random: new SeededRandom(5),
      bootstrap: false,
    });
    await other.listen();
    await clock.run(other.ping(dht.address));
    await clock.advance(50);
    assert.equal(dht.table.size, 1, 'the node that answered our ping is in the table');
    const again = await ask('find_node', { id, target: new Uint8Array(20) });
    assert.ok(again.y === 'r');
    if (again.y === 'r') {
      const nodes = decodeNodes(again.r.nodes as Uint8Array, 20, 4) ?? [];
      assert.deepEqual(
        nodes.map((n) => n.address.host),
        ['4.0.0.1'],
      );
    }
    await other.close();
  });

  it('stores an announce with a valid token, honours implied_port, and rejects bad tokens with 203', async () => {
    const { ask, dht } = await setup();
    const gp = await ask('get_peers', { id, info_hash: infoHash });
    assert.ok(gp.y === 'r' && gp.r.token instanceof Uint8Array);
    if (gp.y !== 'r') return;
    assert.equal(gp.r.values, undefined, 'no peers yet: no values key');
    const token = gp.r.token as Uint8Array;
    assert.equal(
      errorCode(
        await ask('announce_peer', { id, info_hash: infoHash, port: 6000, token: new Uint8Array(8) }),
      ),
      203,
    );
    assert.equal(
      errorCode(await ask('announce_peer', { id, info_hash: infoHash, token })),
      203,
      'no port, no implied_port',
    );
    assert.equal(errorCode(await ask('announce_peer', { id, info_hash: infoHash, port: 70000, token })), 203);
    assert.equal((await ask('announce_peer', { id, info_hash: infoHash, port: 6000, token })).y, 'r');
    assert.equal(
      (await ask('announce_peer', { id, info_hash: infoHash, port: 1, implied_port: 1, token })).y,
      'r',
    );
    const peers = await dht.peers.peers(infoHash, 10, 4, 0);
    assert.deepEqual(
      peers.map((p) => p.address.port).sort(),
      [4000, 6000],
      'implied_port used the source port 4000',
    );
    const again = await ask('get_peers', { id, info_hash: infoHash });
    assert.ok(again.y === 'r' && Array.isArray(again.r.values) && again.r.values.length === 2);
  });

  it('caps values so a reply fits one datagram', async () => {
    const { ask, dht } = await setup();
    for (let i = 0; i < 500; i++) {
      await dht.peers.announce(
        infoHash,
        { host: `9.9.${i >> 8}.${i & 255}`, port: 1000 + i, family: 4 },
        false,
        0,
      );
    }
    const r = await ask('get_peers', { id, info_hash: infoHash });
    assert.ok(r.y === 'r' && Array.isArray(r.r.values));
    if (r.y !== 'r') return;
    assert.equal((r.r.values as Uint8Array[]).length, 100);
    assert.ok(encode({ r: r.r }).length < 1280);
  });

  it('never answers non-bencoded garbage and survives oversize packets', async () => {
    const { raw, ask } = await setup();
    assert.equal(await raw(new Uint8Array([0xde, 0xad, 0xbe, 0xef])), undefined);
    const big = encodeQuery(new Uint8Array([9]), 'ping', { id, pad: new Uint8Array(60_000) });
    const r = await raw(big);
    assert.equal(r?.y, 'r', 'a big but valid ping is still answered (extra keys ignored)');
    assert.equal((await ask('ping', { id })).y, 'r');
  });

  it('does not add read-only queriers (ro=1) to the routing table', async () => {
    const { raw, dht } = await setup();
    await raw(encodeQuery(new Uint8Array([7]), 'ping', { id }, { ro: true }));
    assert.equal(dht.table.size, 0);
  });
});
