import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { SeededRandom } from '../../src/util/random.js';
import { decodeKrpc, encodeQuery } from '../../src/wire/krpc.js';

/**
 * Feeds a real UDP node random and mutated packets from a raw socket, then checks it still
 * answers correctly. The seed is printed so any failure replays.
 */
describe('fuzzing a live node', () => {
  const seed = Number(process.env.KADMIUM_FUZZ_SEED ?? 20261121);
  const random = new SeededRandom(seed);
  let dht: Dht;
  const socket = createSocket('udp4');
  const replies: Buffer[] = [];
  /** Every datagram the node sent us during the run (bounded by what we send). */
  const everything: Buffer[] = [];

  before(async () => {
    dht = new Dht({ host: '127.0.0.1', bootstrap: false });
    await dht.listen();
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.on('message', (msg) => {
      replies.push(msg);
      everything.push(msg);
    });
  });
  after(async () => {
    socket.close();
    await dht.close();
  });

  const send = (bytes: Uint8Array): Promise<void> =>
    new Promise((resolve) => socket.send(bytes, dht.address.port, '127.0.0.1', () => resolve()));

  async function pingWorks(): Promise<boolean> {
    const t = random.bytes(2);
    replies.length = 0;
    await send(encodeQuery(t, 'ping', { id: random.bytes(20) }));
    for (let i = 0; i < 100; i++) {
      for (const r of replies) {
        const m = decodeKrpc(r);
        if (m.ok && m.message.y === 'r' && Buffer.from(m.message.t).equals(Buffer.from(t))) {
          return Buffer.from(m.message.r.id as Uint8Array).equals(Buffer.from(dht.id));
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return false;
  }

  const templates = [
    encodeQuery(new Uint8Array([1, 2]), 'ping', { id: new Uint8Array(20).fill(1) }),
    encodeQuery(new Uint8Array([1, 3]), 'find_node', {
      id: new Uint8Array(20).fill(1),
      target: new Uint8Array(20),
    }),
    encodeQuery(new Uint8Array([1, 4]), 'get_peers', {
      id: new Uint8Array(20).fill(1),
      info_hash: new Uint8Array(20),
    }),
    encodeQuery(new Uint8Array([1, 5]), 'announce_peer', {
      id: new Uint8Array(20).fill(1),
      info_hash: new Uint8Array(20),
      port: 6881,
      token: new Uint8Array(8),
    }),
  ];

  function mutate(input: Uint8Array): Uint8Array {
    const out = Buffer.from(input);
    switch (random.int(4)) {
      case 0: // flip bytes
        for (let i = 0; i < 1 + random.int(4); i++) out[random.int(out.length)] = random.int(256);
        return out;
      case 1: // truncate
        return out.subarray(0, random.int(out.length));
      case 2: // splice in bencode tokens
        return Buffer.concat([
          out.subarray(0, random.int(out.length)),
          Buffer.from(['i-1e', 'le', 'de', '999999:', '0:', 'd1:', 'i99999999999999999999e'][random.int(7)]!),
          out.subarray(random.int(out.length)),
        ]);
      default: // duplicate a region
        return Buffer.concat([out, out.subarray(random.int(out.length))]);
    }
  }

  it(`survives 3,000 random and mutated packets and keeps answering (seed ${seed})`, async () => {
    let sent = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 100; i++) {
        const bytes =
          i % 3 === 0 ? random.bytes(random.int(1500)) : mutate(templates[random.int(templates.length)]!);
        await send(bytes);
        sent++;
      }
      assert.ok(await pingWorks(), `node stopped answering after ${sent} packets (seed ${seed})`);
    }
    const stats = dht.stats().rpc!;
    assert.ok(stats.dropped.malformed > 0, 'some packets were malformed');
    // Everything it said back was valid KRPC, and its errors carried BEP 5 codes.
    assert.ok(everything.length > 30);
    const codes = new Set<number>();
    for (const r of everything) {
      const m = decodeKrpc(r);
      assert.ok(m.ok, `a reply did not decode (seed ${seed})`);
      if (m.message.y === 'e') codes.add(m.message.code);
    }
    for (const code of codes) assert.ok([201, 202, 203, 204].includes(code), `unexpected error code ${code}`);
    assert.ok(codes.has(203), 'malformed queries were answered with 203');
  });
});
