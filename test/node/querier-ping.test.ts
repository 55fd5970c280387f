// Issue 15: which strangers a node pings after they query it. Since issue 11 a query never admits
// its sender; only the reply to our verification ping does. These tests pin down that the ping
// goes where a reply could fill a short bucket, goes after our answer, and stays within budget.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { asNodeId } from '../../src/kademlia/id.js';
import { Dht } from '../../src/node/dht.js';
import { QUERIER_PING_BURST } from '../../src/node/tables.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import { decodeKrpc, encodeQuery, type KrpcMessage } from '../../src/wire/krpc.js';

const open: Dht[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

/** A node (wide buckets on, the default) and raw clients that log what reaches them, in order. */
async function setup() {
  const clock = new VirtualClock();
  const random = new SeededRandom(15);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => 1 });
  const dht = new Dht({ transport: net.createTransport('2.0.0.1'), clock, random, bootstrap: false });
  open.push(dht);
  await dht.listen();
  /** A raw client at `host`: `send` a query with a fresh transaction id, `log` what it received. */
  const client = (host: string) => {
    const transport = net.createTransport(host, 4000);
    const log: KrpcMessage[] = [];
    transport.onMessage((data) => {
      const m = decodeKrpc(data);
      if (m.ok) log.push(m.message);
    });
    let t = 0;
    const send = (method: string, id: Uint8Array) =>
      transport.send(encodeQuery(new Uint8Array([t++]), method, { id, target: id }), dht.address);
    return { log, send };
  };
  const pings = (log: KrpcMessage[]) => log.filter((m) => m.y === 'q' && m.q === 'ping').length;
  return { clock, dht, client, pings, net, random };
}

/** An id whose first bit differs from `local`'s (bucket 0 once the table has split), varied by `n`. */
function farId(local: Uint8Array, n: number): Uint8Array {
  const id = new Uint8Array(20).fill(n);
  id[0] = ((local[0] as number) ^ 0x80) & 0x80;
  id[1] = n;
  return id;
}

describe('verification pings to strangers that query us (issue 15)', () => {
  it('does not ping a stranger whose bucket already holds k contacts, even with wide places free', async () => {
    const { clock, dht, client, pings } = await setup();
    const k = 8;
    // k verified contacts on the far side, then one on ours: the table splits, and bucket 0 holds
    // k with room up to its wide limit.
    for (let i = 0; i < k; i++) {
      const address = { host: `5.0.${i}.1`, port: 4000, family: 4 as const };
      dht.table.observe({ id: asNodeId(farId(dht.id, i + 1)), address }, true, clock.now());
    }
    const near = dht.id.slice();
    near[19] = (near[19] as number) ^ 1;
    dht.table.observe({ id: asNodeId(near), address: { host: '6.0.0.1', port: 4000, family: 4 } }, true, 1);
    assert.ok(dht.table.bucketCount >= 2, 'the table split');
    assert.ok(dht.table.bucketLimit(0) > k, 'bucket 0 is wide');
    assert.equal(dht.table.size, k + 1);

    const far = client('7.0.0.1');
    far.send('find_node', farId(dht.id, 99));
    await clock.advance(100);
    assert.ok(
      far.log.some((m) => m.y === 'r'),
      'the stranger got its answer',
    );
    assert.equal(pings(far.log), 0, 'and no ping: its reply could only fill a place beyond k');
    assert.equal(dht.table.size, k + 1);

    // A stranger on our own side of the table, where the bucket splits, is worth a ping.
    const close = dht.id.slice();
    close[19] = (close[19] as number) ^ 2;
    const own = client('8.0.0.1');
    own.send('find_node', close);
    await clock.advance(100);
    assert.equal(pings(own.log), 1, 'a stranger that could fill a short bucket is pinged once');
  });

  it('sends its answer before the verification ping', async () => {
    const { clock, dht, client } = await setup();
    const stranger = client('3.0.0.1');
    stranger.send('find_node', farId(dht.id, 1));
    await clock.advance(100);
    const kinds = stranger.log.map((m) => (m.y === 'q' ? m.q : m.y));
    assert.deepEqual(kinds, ['r', 'ping'], 'a querier in mid-lookup hears our answer first');
  });

  it('pings at most QUERIER_PING_BURST strangers at once, and admits those that answer', async () => {
    const { clock, dht, client, pings, net, random } = await setup();
    const strangers = Array.from({ length: QUERIER_PING_BURST * 3 }, (_, i) =>
      client(`9.${i >> 8}.${i & 0xff}.1`),
    );
    strangers.forEach((s, i) => s.send('ping', farId(dht.id, i + 1)));
    await clock.advance(100);
    const pinged = strangers.reduce((sum, s) => sum + pings(s.log), 0);
    assert.ok(pinged > 0, 'strangers that could fill the table are pinged');
    assert.ok(pinged <= QUERIER_PING_BURST, `${pinged} pings, at most ${QUERIER_PING_BURST} at once`);
    assert.equal(dht.table.size, 0, 'raw clients never answer: none of them entered the table');

    // Once the budget refills, a real node that queries us answers our ping and is admitted.
    await clock.advance(5_000);
    const other = new Dht({ transport: net.createTransport('4.0.0.1'), clock, random, bootstrap: false });
    open.push(other);
    await other.listen();
    await clock.run(other.ping(dht.address));
    await clock.advance(100);
    assert.ok(dht.table.get(other.id), 'the node that answered our ping is in the table');
  });
});
