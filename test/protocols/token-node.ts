// The node the token tests talk to: one Dht on a memory network and virtual clock, and raw KRPC
// clients at other addresses, so a test can hand the node any token it likes.
import assert from 'node:assert/strict';
import { Dht } from '../../src/node/dht.js';
import type { DhtOptions } from '../../src/node/options.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import type { BDict } from '../../src/wire/bencode.js';
import { decodeKrpc, encodeQuery, type KrpcMessage } from '../../src/wire/krpc.js';

export type Ask = (method: string, a: BDict) => Promise<KrpcMessage>;

export async function tokenNode(seed: number, options: Partial<DhtOptions> = {}) {
  const clock = new VirtualClock();
  const random = new SeededRandom(seed);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => 1 });
  const dht = new Dht({
    transport: net.createTransport('2.0.0.1'),
    clock,
    random,
    bootstrap: false,
    secureIds: 'off',
    ...options,
  });
  await dht.listen();
  /** A KRPC client at ip: sends one query, waits 5 virtual ms, returns the reply to it. */
  const client = (ip: string): Ask => {
    const t = net.createTransport(ip, 4000);
    const inbox: KrpcMessage[] = [];
    t.onMessage((data) => {
      const m = decodeKrpc(data);
      if (m.ok) inbox.push(m.message);
    });
    let n = 0;
    return async (method, a) => {
      const tid = new Uint8Array([n >> 8, n++ & 255]);
      t.send(encodeQuery(tid, method, a), dht.address);
      await clock.advance(5);
      const reply = inbox.find((m) => m.t[0] === tid[0] && m.t[1] === tid[1]);
      assert.ok(reply, `no reply to ${method}`);
      return reply;
    };
  };
  return { dht, clock, client, ask: client('3.0.0.1') };
}
