/**
 * Node-level fuzz: 100,000 hostile frame bodies sent over authenticated connections into a live
 * overlay node (in-memory streams, virtual time). Random bytes, truncated headers, unknown tags,
 * unsolicited replies, and valid headers whose JSON is mutated for every request type: broken
 * syntax, huge numbers, wrong types, bad encodings, forged signatures, items that do not match
 * their target, senders claiming another key. Afterwards the node must be alive, answer a
 * GetValue correctly, and still hold the item stored before, unchanged. Each offending body must
 * have been answered with an error reply, or its connection closed with a reason.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { asNodeId, type NodeId } from '../../src/kademlia/id.js';
import { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity, overlayIdOf } from '../../src/protocols/overlay/identity.js';
import { itemTarget, type MutableItem, signItem } from '../../src/protocols/overlay/item.js';
import {
  decodeResponse,
  encodeRequest,
  OverlayTag,
  type OverlayMethod,
  type OverlayRequest,
} from '../../src/protocols/overlay/messages.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { makeAddress } from '../../src/transport/address.js';
import { MemoryStreamNetwork, type MemoryStreamTransport } from '../../src/transport/stream/memory.js';
import type { Connection } from '../../src/transport/stream/types.js';
import { bytesEqual } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';
import { decodeFrame, encodeFrame, ERROR_TAG } from '../../src/wire/frames.js';

const BODIES = 100_000;
/** Connections fuzzing at once, and bodies each sends per round (within the node's handler limits). */
const ATTACKERS = 5;
const PER_ROUND = 50;
/** Well-formed items cost a signature check each (~5 ms here): keep them to about this share. */
const SIGNED_ITEM_SHARE = 0.004;
const WALL_BOUND_MS = 60_000;
const LATENCY_MS = 1;

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const METHODS: OverlayMethod[] = ['ping', 'find_node', 'get_value', 'put_value', 'get_items', 'put_batch'];

/** JSON tokens that are wrong in some way for almost any field. */
const HOSTILE_VALUES = [
  '1e400',
  '-1',
  '18446744073709551616',
  '9007199254740993',
  '-9223372036854775809',
  '1.5',
  '0x10',
  `1${'0'.repeat(80)}`,
  'NaN',
  'null',
  'true',
  '""',
  '"zz"',
  '"%%%="',
  '[]',
  '{}',
  `[${Array(31).fill(1).join(',')}]`,
  `[${Array(33).fill(1).join(',')}]`,
  `[${Array(32).fill(256).join(',')}]`,
  `[${Array(32).fill(-1).join(',')}]`,
  `[${Array(32).fill(1.5).join(',')}]`,
  `"${'a'.repeat(5000)}"`,
  `${'['.repeat(40)}${']'.repeat(40)}`,
  '{"__proto__":{"polluted":1}}',
  '"\\ud800"',
];

describe('overlay node fuzz (100,000 hostile bodies over in-memory streams)', () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const random = new SeededRandom(1234);
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => LATENCY_MS });
  const [nodeId, victim, honest, ...attackerIds] = OverlayIdentity.simulatedBatch(
    3 + ATTACKERS + 1,
    random,
  ) as [OverlayIdentity, OverlayIdentity, OverlayIdentity, ...OverlayIdentity[]];
  const node = new OverlayNode({
    identity: nodeId,
    transport: net.listen(nodeId.publicKey, makeAddress('10.0.0.1', 7000)),
    clock,
    random,
  });
  const transports: MemoryStreamTransport[] = [];
  after(async () => {
    for (const t of transports) await t.close();
    await node.close();
  });

  it('stays up, keeps its items, and answers or disconnects every offender', async () => {
    const started = Date.now();
    const salt = text('victim');
    const victimTarget = itemTarget(victim.publicKey, salt);
    const stored = signItem(victim, text('the original value'), 1_000n, salt);
    assert.ok((await node.store.put(stored, clock.now())).ok);

    const badFrames: string[] = [];
    node.events.on('rpc:bad-frame', ({ reason }) => badFrames.push(reason));

    // Material for the mutations: items with valid, forged and mismatched signatures and targets.
    const closer = attackerIds.pop() as OverlayIdentity;
    const attackerItems = [0, 1, 2].map((i) =>
      signItem(attackerIds[0] as OverlayIdentity, text(`a${i}`), 5n, text(`s${i}`)),
    );
    const forged: MutableItem = { ...stored, seq: stored.seq + 1n, v: text('replaced!') };
    const older = signItem(victim, text('an older value'), 999n, salt);
    const higherFlippedSig = (() => {
      const item = signItem(victim, text('sig flipped'), 2_000n, salt);
      const sig = item.sig.slice();
      sig[10] = (sig[10] as number) ^ 1;
      return { ...item, sig };
    })();
    const items = [forged, older, higherFlippedSig, ...attackerItems];

    const senderOf = (id: OverlayIdentity) => ({
      senderId: overlayIdOf(id.publicKey),
      senderPk: id.publicKey,
    });
    /** A valid request of each method from `id`, as JSON text to mutate. */
    const validJson = (id: OverlayIdentity, method: OverlayMethod): string => {
      const s = senderOf(id);
      const item = items[random.int(items.length)] as MutableItem;
      const target = random.int(2) === 0 ? victimTarget : asNodeId(random.bytes(32));
      const body: OverlayRequest =
        method === 'ping'
          ? { method, ...s }
          : method === 'find_node' || method === 'get_value'
            ? { method, ...s, target: asNodeId(target) }
            : method === 'put_value'
              ? {
                  method,
                  ...s,
                  item,
                  ...(random.int(3) === 0 ? { mirrorTarget: asNodeId(victimTarget) as NodeId } : {}),
                  ...(random.int(4) === 0 ? { cas: BigInt(random.int(3000)) } : {}),
                }
              : method === 'get_items'
                ? { method, ...s, salt: text('victim'), sinceSeq: 0n, limit: 1 + random.int(5) }
                : { method, ...s, items: [item], targets: [asNodeId(random.int(2) ? victimTarget : target)] };
      return new TextDecoder().decode(encodeRequest(body));
    };

    const mutateText = (json: string): string => {
      switch (random.int(6)) {
        case 0: // truncate
          return json.slice(0, random.int(json.length));
        case 1: {
          // flip one character
          const i = random.int(json.length);
          return json.slice(0, i) + String.fromCharCode(32 + random.int(95)) + json.slice(i + 1);
        }
        case 2: {
          // drop a range
          const i = random.int(json.length);
          return json.slice(0, i) + json.slice(i + 1 + random.int(20));
        }
        case 3: // duplicate a key
          return json.replace('{', '{"sender_pk":"00",');
        case 4: // trailing garbage
          return `${json}${String.fromCharCode(random.int(128))}`;
        default: // nested where a scalar was
          return json.replace(/:(\d+|"[^"]*")/, ':[$1]');
      }
    };
    /** Replace the value of one field (anywhere in the body) with a hostile token. */
    const mutateField = (json: string): string => {
      const keys = [...json.matchAll(/"([a-z_]+)":/g)];
      const pick = keys[random.int(keys.length)];
      if (!pick || pick.index === undefined) return json;
      const start = pick.index + pick[0].length;
      const value = HOSTILE_VALUES[random.int(HOSTILE_VALUES.length)] as string;
      // The old value runs to the next comma or brace at depth 0.
      let depth = 0;
      let end = start;
      let inString = false;
      for (; end < json.length; end++) {
        const ch = json[end];
        if (inString) {
          if (ch === '\\') end++;
          else if (ch === '"') inString = false;
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === '[' || ch === '{') depth++;
        else if (ch === ']' || ch === '}') {
          if (depth === 0) break;
          depth--;
        } else if (ch === ',' && depth === 0) break;
      }
      return json.slice(0, start) + value + json.slice(end);
    };

    type Kind = 'closes' | 'request' | 'unsolicited';
    let signedItems = 0;
    /** One hostile body and what the node must do with it. */
    const nextBody = (from: OverlayIdentity, requestId: number): { body: Uint8Array; kind: Kind } => {
      const roll = random.int(1000);
      if (roll < 60) {
        // Random bytes with a valid request header: any tag 1..0x7e, unknown ones included.
        const tag = 1 + random.int(0x7e);
        return {
          body: encodeFrame('request', tag, requestId, random.bytes(random.int(300))),
          kind: 'request',
        };
      }
      if (roll < 90) {
        // A reply nobody asked for: a response flag or an error tag with a random id.
        const tag = random.int(2) ? ERROR_TAG : 0x80 | (1 + random.int(6));
        const body = random.bytes(5 + random.int(100));
        body[0] = tag;
        return { body, kind: 'unsolicited' };
      }
      const method = METHODS[random.int(METHODS.length)] as OverlayMethod;
      let json = validJson(random.int(20) === 0 ? victim : from, method);
      const carriesItem = method === 'put_value' || method === 'put_batch';
      if (carriesItem && random.float() < SIGNED_ITEM_SHARE * 3 && signedItems < BODIES * SIGNED_ITEM_SHARE) {
        signedItems++; // sent whole: its signature is checked (forged, replayed, mismatched or valid)
      } else if (carriesItem || random.int(2) === 0) {
        json = random.int(3) === 0 ? mutateText(json) : mutateField(json);
        if (random.int(4) === 0) json = mutateField(json);
      }
      return { body: encodeFrame('request', OverlayTag[method], requestId, text(json)), kind: 'request' };
    };
    /** A body the node cannot frame: too short for a header, or tag 0 / 0x80. */
    const headerless = (): Uint8Array => {
      const body = random.bytes(random.int(12));
      if (body.length >= 5) body[0] = random.int(2) ? 0 : 0x80;
      return body;
    };

    interface Link {
      conn: Connection;
      waiting: Set<number>;
      closedWith?: string;
      nextId: number;
    }
    const replies = { responses: 0, errors: new Map<string, number>(), unknownIds: 0 };
    const open = async (id: OverlayIdentity, host: string): Promise<Link> => {
      const transport = net.listen(id.publicKey, makeAddress(host, 7000));
      transports.push(transport);
      const conn = await clock.run(transport.connect(node.address, node.publicKey));
      const link: Link = { conn, waiting: new Set(), nextId: 1 };
      conn.onBody((body) => {
        const frame = decodeFrame(body);
        if (!frame || !link.waiting.delete(frame.requestId)) {
          replies.unknownIds++;
          return;
        }
        if (frame.kind === 'response') replies.responses++;
        else {
          const code = decodeResponse(frame.tag || 1, frame.json);
          const key = code.ok && code.message.method === 'error' ? code.message.code : 'unparsable';
          replies.errors.set(key, (replies.errors.get(key) ?? 0) + 1);
        }
      });
      conn.onClose((reason) => {
        link.closedWith = reason;
      });
      return link;
    };
    const attackers = await Promise.all(attackerIds.map((id, i) => open(id, `10.0.1.${i + 1}`)));

    let sent = 0;
    let closes = 0;
    let unsolicited = 0;
    let rounds = 0;
    while (sent < BODIES) {
      rounds++;
      for (let a = 0; a < attackers.length && sent < BODIES; a++) {
        const link = attackers[a] as Link;
        for (let i = 0; i < PER_ROUND && sent < BODIES; i++) {
          const requestId = link.nextId++;
          const { body, kind } = nextBody(attackerIds[a] as OverlayIdentity, requestId);
          assert.ok(link.conn.send(body));
          sent++;
          if (kind === 'request') link.waiting.add(requestId);
          else unsolicited++;
        }
      }
      // One more body each round that cannot be framed, on its own connection: it must be closed.
      if (sent < BODIES && rounds % 4 === 0) {
        const link = await open(closer, '10.0.2.1');
        link.conn.send(headerless());
        sent++;
        closes++;
        await clock.advance(10 * LATENCY_MS);
        assert.match(link.closedWith ?? 'still open', /remote closed: protocol: /);
        await transports.pop()?.close();
      }
      await clock.advance(10 * LATENCY_MS);
      for (const link of attackers) {
        assert.equal(link.closedWith, undefined, 'an attacker whose frames had headers stays connected');
        assert.equal(link.waiting.size, 0, `${link.waiting.size} requests left unanswered`);
      }
      assert.ok(Date.now() - started < WALL_BOUND_MS, `fuzzing passed ${WALL_BOUND_MS} ms at ${sent} bodies`);
    }

    const errorTotal = [...replies.errors.values()].reduce((a, b) => a + b, 0);
    const summary = `${sent} bodies in ${Date.now() - started} ms: ${replies.responses} responses, ${errorTotal} error replies ${JSON.stringify(Object.fromEntries(replies.errors))}, ${unsolicited} unsolicited replies ignored, ${closes} connections closed, ${signedItems} whole signed items`;
    process.stdout.write(`# ${summary}\n`);
    assert.equal(sent, BODIES);
    assert.equal(replies.unknownIds, 0, 'the node never answers with an id nobody sent');
    assert.equal(replies.responses + errorTotal + unsolicited + closes, BODIES, 'every body accounted for');
    assert.equal(replies.errors.get('BUSY') ?? 0, 0, 'the rounds stay within the handler limits');
    assert.ok((replies.errors.get('BAD_REQUEST') ?? 0) > BODIES / 4, summary);
    assert.ok((replies.errors.get('UNKNOWN_METHOD') ?? 0) > 0, summary);
    assert.equal(badFrames.length, closes, 'each closed connection logged its reason');
    // The node's side of the same accounting: every body counted as received, refused or dropped.
    const stats = node.stats().rpc;
    const received = Object.values(stats.inbound).reduce((n, m) => n + m.rx, 0);
    assert.equal(stats.dropped.unsolicited, unsolicited, 'unsolicited replies are counted, not silent');
    assert.equal(received + stats.dropped.unsolicited + badFrames.length, BODIES);

    // The stored item is exactly what was stored.
    const kept = await node.store.get(victimTarget, clock.now());
    assert.ok(kept, 'the victim item is still stored');
    assert.equal(kept.seq, stored.seq);
    assert.ok(
      bytesEqual(kept.v, stored.v) && bytesEqual(kept.sig, stored.sig) && bytesEqual(kept.k, stored.k),
    );

    // And the node still answers a well-formed GetValue with it.
    const good = await open(honest, '10.0.3.1');
    const request = encodeRequest({
      method: 'get_value',
      ...senderOf(honest),
      target: asNodeId(victimTarget),
    });
    let answer: Uint8Array | undefined;
    good.conn.onBody((body) => {
      answer = decodeFrame(body)?.json;
    });
    good.conn.send(encodeFrame('request', OverlayTag.get_value, 1, request));
    await clock.advance(10 * LATENCY_MS);
    assert.ok(answer, 'the node answered a GetValue after the fuzzing');
    const decoded = decodeResponse(OverlayTag.get_value, answer);
    assert.ok(decoded.ok && decoded.message.method === 'get_value' && decoded.message.item);
    assert.equal(decoded.message.item.seq, stored.seq);
    assert.ok(bytesEqual(decoded.message.item.v, stored.v));
  });
});
