/**
 * The overlay node's reputation (OverlayNodeOptions.reputation) on in-memory streams and virtual
 * time: a contact whose referrals cannot be dialled is distrusted, dropped from the table and not
 * queried again; an item failing verification counts as a lie. With reputation off, the same liar
 * stays in the table and keeps being asked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget, type MutableItem } from '../../src/protocols/overlay/item.js';
import type { NodeId } from '../../src/kademlia/id.js';
import { decodeRequest, encodeResponse } from '../../src/protocols/overlay/messages.js';
import { overlayPeerOf } from '../../src/protocols/overlay/peer-json.js';
import type { StreamRequestHandler } from '../../src/rpc/stream-rpc.js';
import { fillFakePool, hostileOverlayHandler, OverlayColluders } from '../../src/sim/overlay-adversary.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { addressKey } from '../../src/transport/address.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { SeededRandom } from '../../src/util/random.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const read = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Honest nodes in the network: fewer than k, so every lookup asks every node, the liar included. */
const HONEST = 8;
/** The attack-free network: nodes, items, and nodes that leave before the gets. */
const CLEAN_NODES = 30;
const CLEAN_ITEMS = 10;
const CLEAN_GONE = 5;
/** Gets after the liar had its chance to be caught. */
const LATER_GETS = 5;

/**
 * HONEST honest nodes, a liar (node 1) whose handler `hostile` makes, and a reader joining last
 * with `reputation`. Counts the queries the liar receives.
 */
async function network(
  reputation: boolean,
  hostile: (node: OverlayNode, identity: OverlayIdentity) => StreamRequestHandler,
) {
  const clock = new VirtualClock(1_700_000_000_000);
  const random = new SeededRandom(5);
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(20) });
  const nodes: OverlayNode[] = [];
  let liarQueries = 0;
  const make = (i: number, rep: boolean): OverlayNode => {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const transport = net.listen(identity.publicKey, { host: `10.0.0.${i + 1}`, port: 7000, family: 4 });
    const first = nodes[0];
    const node = new OverlayNode({
      identity,
      transport,
      clock,
      random,
      reputation: rep,
      bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
    });
    if (i === 1) {
      const handler = hostile(node, identity);
      node.rpc.onRequest((tag, json, conn) => {
        liarQueries++;
        return handler(tag, json, conn);
      });
    }
    return node;
  };
  for (let i = 0; i <= HONEST; i++) {
    const node = make(i, false);
    nodes.push(node);
    await clock.run(node.start());
  }
  const reader = make(HONEST + 1, reputation);
  nodes.push(reader);
  await clock.run(reader.start());
  await clock.run(reader.refreshSelf());
  return {
    clock,
    nodes,
    reader,
    liar: nodes[1] as OverlayNode,
    publisher: nodes[HONEST] as OverlayNode,
    liarQueries: () => liarQueries,
    close: () => Promise.all(nodes.map((n) => n.close())),
  };
}

/** The fake policy: every lookup answered with keys nobody listens for. */
function fakeReferrals(random: SeededRandom) {
  return (node: OverlayNode, identity: OverlayIdentity): StreamRequestHandler => {
    const pool = new OverlayColluders();
    fillFakePool(pool, 64, random);
    return hostileOverlayHandler('fake', node, pool, identity, () => 0);
  };
}

/** Routes honestly, keeps what it is given, and serves it with another value (its signature fails). */
function forger(node: OverlayNode): StreamRequestHandler {
  const kept = new Map<string, MutableItem>();
  return (tag, json) => {
    const decoded = decodeRequest(tag, json);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const request = decoded.message;
    const closest = (target: Uint8Array) => node.table.closest(target, node.k).map(overlayPeerOf);
    switch (request.method) {
      case 'put_value':
        kept.set(addressKeyOfTarget(itemTarget(request.item.k, request.item.salt)), request.item);
        return encodeResponse({ method: 'put_value', stored: true });
      case 'get_value': {
        const item = kept.get(addressKeyOfTarget(request.target));
        return encodeResponse({
          method: 'get_value',
          closest: closest(request.target),
          ...(item ? { item: { ...item, v: text('forged') } } : {}),
        });
      }
      case 'find_node':
        return encodeResponse({ method: 'find_node', closest: closest(request.target) });
      case 'ping':
        return encodeResponse({
          method: 'ping',
          responderId: node.id as NodeId,
          responderPk: node.publicKey,
        });
      default:
        throw new Error(`not used here: ${request.method}`);
    }
  };
}

const addressKeyOfTarget = (t: Uint8Array): string => Buffer.from(t).toString('hex');

describe('overlay reputation', () => {
  it('distrusts nobody in an attack-free network with churn (no false positives)', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const random = new SeededRandom(11);
    const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(40) });
    const nodes: OverlayNode[] = [];
    try {
      for (let i = 0; i < CLEAN_NODES; i++) {
        const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
        const first = nodes[0];
        const node = new OverlayNode({
          identity,
          transport: net.listen(identity.publicKey, { host: `10.0.2.${i + 1}`, port: 7000, family: 4 }),
          clock,
          random,
          reputation: true,
          bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
        });
        nodes.push(node);
        await clock.run(node.start());
      }
      const publisher = nodes[1] as OverlayNode;
      for (let i = 0; i < CLEAN_ITEMS; i++)
        await clock.run(publisher.put(text(`v${i}`), { salt: text(`c${i}`) }));
      // A few nodes leave: dials to them are refused, which is churn, not a lie.
      for (const gone of nodes.splice(CLEAN_NODES - CLEAN_GONE, CLEAN_GONE)) await gone.close();
      let found = 0;
      for (const [n, reader] of nodes.entries()) {
        const got = await clock.run(reader.get(publisher.publicKey, { salt: text(`c${n % CLEAN_ITEMS}`) }));
        if (got && read(got.item.v) === `v${n % CLEAN_ITEMS}`) found++;
      }
      assert.equal(found, nodes.length);
      const distrusted = nodes.reduce((sum, node) => sum + (node.reputation?.distrusted ?? 0), 0);
      assert.equal(distrusted, 0, 'an honest contact was distrusted');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  for (const reputation of [true, false]) {
    it(`a contact referring contacts that do not exist is ${reputation ? 'distrusted and no longer queried' : 'still queried with reputation off'}`, async () => {
      const world = await network(reputation, fakeReferrals(new SeededRandom(9)));
      try {
        const { clock, reader, liar, publisher } = world;
        const liarKey = addressKey(liar.address);
        // Items to read, put by an honest node (its lookups go through the liar too).
        const salts = Array.from({ length: 1 + LATER_GETS }, (_, i) => text(`s${i}`));
        for (const salt of salts) await clock.run(publisher.put(text(`v ${read(salt)}`), { salt }));
        await clock.run(reader.get(publisher.publicKey, { salt: salts[0] as Uint8Array }));
        if (reputation) {
          assert.equal(reader.reputation?.trusted(liarKey), false, 'the liar is distrusted');
          assert.ok((reader.reputation?.get(liarKey)?.lies ?? 0) >= 1);
          assert.equal(reader.table.get(liar.id), undefined, 'and dropped from the table');
        } else {
          assert.equal(reader.reputation, undefined);
        }
        const before = world.liarQueries();
        for (const salt of salts.slice(1)) {
          const got = await clock.run(reader.get(publisher.publicKey, { salt }));
          assert.equal(got && read(got.item.v), `v ${read(salt)}`, 'the gets still succeed');
        }
        const asked = world.liarQueries() - before;
        if (reputation) assert.equal(asked, 0, 'a distrusted contact is not asked again');
        else assert.ok(asked >= LATER_GETS, `without reputation the liar is asked every get (${asked})`);
      } finally {
        await world.close();
      }
    });
  }

  it('an item that fails verification counts as a lie, and a liar is not admitted again', async () => {
    const world = await network(true, forger);
    try {
      const { clock, reader, liar, publisher } = world;
      const salt = text('forged-here');
      await clock.run(publisher.put(text('genuine'), { salt }));
      const got = await clock.run(reader.get(publisher.publicKey, { salt }));
      assert.equal(got && read(got.item.v), 'genuine', 'the forged copy is refused');
      assert.ok((got?.lies ?? 0) >= 1, 'the get saw the forged copy');
      const record = reader.reputation?.get(addressKey(liar.address));
      assert.ok(record && record.lies >= 1, `the forger's lie is recorded: ${JSON.stringify(record)}`);
      assert.equal(reader.reputation?.trusted(addressKey(liar.address)), false);
      // The forger queries the reader (its own node looks itself up, the reader among those it
      // asks), which admits a querier whose port a fresh dial proves: not this one.
      await clock.run(liar.refreshSelf());
      await clock.advance(1_000);
      await clock.run(reader.refreshSelf());
      assert.equal(reader.table.get(liar.id), undefined, 'a distrusted querier is not admitted');
    } finally {
      await world.close();
    }
  });
});
