import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareDistance } from '../../src/kademlia/id.js';
import type { Dht } from '../../src/node/dht.js';
import { encode } from '../../src/wire/bencode.js';
import { ITEM_TTL_MS, keypairFromSeed, mutableTarget } from '../../src/protocols/mainline/bep44.js';
import { joinedNetwork } from './memory-net.js';

/** N kadmium nodes on an in-memory network, joined, each having looked itself up, on virtual time. */
async function network(size: number, seed: number, nodeOptions: { fullNode?: boolean } = {}) {
  const { clock, nodes } = await joinedNetwork(size, seed, () => nodeOptions);
  for (const n of nodes) await clock.run(n.findNode(n.id));
  return { clock, nodes, close: () => Promise.all(nodes.map((n) => n.close())) };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (v: unknown): string => Buffer.from(v as Uint8Array).toString();

describe('BEP 44 items across a network', () => {
  it('puts and gets an immutable item; any node can read it', async () => {
    const { clock, nodes, close } = await network(40, 1);
    const put = await clock.run(nodes[5]!.putImmutable(text('hello')));
    assert.ok(put.storedOn >= 6, `stored on ${put.storedOn}`);
    for (const reader of [nodes[0]!, nodes[17]!, nodes[39]!]) {
      const got = await clock.run(reader.get(put.target));
      assert.equal(str(got?.v), 'hello');
      assert.ok((got?.verifiedBy ?? 0) >= 6);
    }
    assert.equal(await clock.run(nodes[2]!.get(new Uint8Array(20).fill(9))), undefined, 'unknown target');
    await close();
  });

  it('mutable items: auto-increment seq, salt, highest seq wins, conflicts explain themselves', async () => {
    const { clock, nodes, close } = await network(40, 2);
    const keyPair = keypairFromSeed(new Uint8Array(32).fill(3));
    const target = mutableTarget(keyPair.publicKey, text('svc'));
    const first = await clock.run(nodes[1]!.putMutable({ keyPair, v: text('one'), salt: 'svc' }));
    const second = await clock.run(nodes[2]!.putMutable({ keyPair, v: text('two'), salt: 'svc' }));
    assert.deepEqual([first.seq, second.seq], [0, 1]);
    const got = await clock.run(nodes[30]!.get(target, { salt: 'svc' }));
    assert.equal(str(got?.v), 'two');
    assert.equal(got?.seq, 1);
    assert.equal(
      await clock.run(nodes[30]!.get(target, { salt: 'other' })),
      undefined,
      'wrong salt never verifies',
    );
    assert.equal(
      await clock.run(nodes[30]!.get(target, { salt: 'svc', minSeq: 1 })),
      undefined,
      'nothing newer',
    );
    await assert.rejects(
      clock.run(nodes[3]!.putMutable({ keyPair, v: text('stale'), salt: 'svc', seq: 0 })),
      {
        code: 'SEQ_CONFLICT',
        message: /omit seq to publish one above the latest/,
      },
    );
    await assert.rejects(clock.run(nodes[3]!.putMutable({ keyPair, v: text('x'), salt: 'svc', cas: 0 })), {
      code: 'CAS_MISMATCH',
      message: /retry with its seq as cas/,
    });
    const cas = await clock.run(nodes[3]!.putMutable({ keyPair, v: text('three'), salt: 'svc', cas: 1 }));
    assert.equal(cas.seq, 2);

    // BEP 44 get with seq: a storing node leaves v out when the asker already has that seq.
    const holders: Dht[] = [];
    for (const n of nodes) if (await n.items.get(target, clock.now())) holders.push(n);
    assert.ok(holders.length > 0);
    const raw = nodes[9]!.requireClient();
    const current = await clock.run(raw.get(holders[0]!.address, target, 2));
    assert.deepEqual([current.seq, current.v], [2, undefined], 'seq 2 is what the asker has: no v');
    const older = await clock.run(raw.get(holders[0]!.address, target, 1));
    assert.equal(str(older.v), 'three', 'the asker has seq 1: v is sent');
    await close();
  });

  it('refuses oversize values and salts locally, before any traffic', async () => {
    const { clock, nodes, close } = await network(5, 3);
    await assert.rejects(clock.run(nodes[1]!.putImmutable(new Uint8Array(1200))), { code: 'VALUE_TOO_BIG' });
    const keyPair = keypairFromSeed(new Uint8Array(32).fill(4));
    await assert.rejects(clock.run(nodes[1]!.putMutable({ keyPair, v: 1, salt: 'x'.repeat(65) })), {
      code: 'INVALID_ARGUMENT',
    });
    await close();
  });

  it('items expire 2 h after their last put, and the publisher re-puts hourly to keep them alive', async () => {
    const { clock, nodes, close } = await network(30, 4);
    const kept = await clock.run(nodes[4]!.putImmutable(text('kept alive')));
    const dropped = await clock.run(nodes[4]!.putImmutable(text('let go'), { republish: false }));
    await clock.advance(ITEM_TTL_MS + 10 * 60_000);
    for (const n of nodes) await n.items.expire(clock.now());
    assert.equal(str((await clock.run(nodes[20]!.get(kept.target)))?.v), 'kept alive');
    assert.equal(await clock.run(nodes[20]!.get(dropped.target)), undefined);
    await close();
  });

  it('ordinary nodes keep only items they are close to; a full node keeps everything it is sent', async () => {
    const ordinary = await network(40, 5);
    await ordinary.clock.run(ordinary.nodes[0]!.putImmutable(text('near')));
    const holders = (await Promise.all(ordinary.nodes.map((n) => n.items.count()))).filter(
      (c) => c > 0,
    ).length;
    assert.ok(holders >= 6 && holders <= 12, `held by ${holders} nodes`);

    // Send a put straight to the node farthest from the target: it refuses (201) unless it is a full node.
    const target = new Uint8Array(await crypto.subtle.digest('SHA-1', encode(text('far away'))));
    const byDistance = [...ordinary.nodes].sort((a, b) => compareDistance(target, a.id, b.id));
    const far = byDistance[byDistance.length - 1]!;
    const client = ordinary.nodes[1]!.requireClient();
    const { token } = await ordinary.clock.run(client.get(far.address, target));
    await assert.rejects(
      ordinary.clock.run(client.put(far.address, { token: token!, v: text('far away') })),
      {
        krpcCode: 201,
        message: /not among the 8 closest/,
      },
    );
    await ordinary.close();

    const full = await network(40, 5, { fullNode: true });
    const farFull = [...full.nodes].sort((a, b) => compareDistance(target, a.id, b.id)).at(-1)!;
    const fullClient = full.nodes[1]!.requireClient();
    const reply = await full.clock.run(fullClient.get(farFull.address, target));
    await full.clock.run(fullClient.put(farFull.address, { token: reply.token!, v: text('far away') }));
    assert.equal(await farFull.items.count(), 1, 'the full node stored an item it is far from');
    await full.close();
  });
});
