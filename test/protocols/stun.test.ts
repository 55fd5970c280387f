import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuery } from '../../src/protocols/mainline/messages.js';
import { natKind } from '../../src/protocols/stun/classify.js';
import { StunClient, StunError } from '../../src/protocols/stun/client.js';
import {
  Attr,
  addressAttribute,
  decodeStun,
  encodeAddress,
  encodeStun,
  looksLikeStun,
  Method,
  verifyIntegrity,
} from '../../src/protocols/stun/message.js';
import { SplitTransport } from '../../src/transport/split.js';
import { makeAddress } from '../../src/transport/address.js';
import type { Address } from '../../src/transport/address.js';
import type { DatagramHandler, Transport } from '../../src/transport/transport.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { encode } from '../../src/wire/bencode.js';
import { encodeCompactAddress } from '../../src/wire/compact.js';

/** RFC 5769 §2.2: the sample IPv4 Binding success response (password "VOkJxbRl1RmTxUk/WvJxBt"). */
const RFC5769_RESPONSE = Uint8Array.from([
  0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
  0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
  0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91,
  0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
  0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
]);

const te = (x: string) => new TextEncoder().encode(x);
const KRPC_PING = encode({ t: te('aa'), y: te('q'), q: te('ping'), a: { id: new Uint8Array(20) } });

describe('STUN messages', () => {
  it('decodes the RFC 5769 sample response: class, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY', () => {
    const msg = decodeStun(RFC5769_RESPONSE);
    assert.ok(msg);
    assert.equal(msg.method, Method.Binding);
    assert.equal(msg.cls, 'success');
    assert.deepEqual(addressAttribute(msg, Attr.XorMappedAddress), {
      host: '192.0.2.1',
      port: 32853,
      family: 4,
    });
    const key = new TextEncoder().encode('VOkJxbRl1RmTxUk/WvJxBt');
    assert.equal(verifyIntegrity(RFC5769_RESPONSE, key), true);
    assert.equal(verifyIntegrity(RFC5769_RESPONSE, new TextEncoder().encode('wrong')), false);
  });

  it('round-trips requests with XOR addresses in both families and integrity', () => {
    const tid = new Uint8Array(12).fill(7);
    for (const a of [makeAddress('198.51.100.7', 6881), makeAddress('2001:db8::1:2', 443)]) {
      const key = new Uint8Array(16).fill(3);
      const raw = encodeStun(
        {
          method: Method.CreatePermission,
          cls: 'request',
          transactionId: tid,
          attributes: [{ type: Attr.XorPeerAddress, value: encodeAddress(a, tid, true) }],
        },
        { integrityKey: key },
      );
      assert.ok(looksLikeStun(raw));
      const msg = decodeStun(raw);
      assert.ok(msg);
      assert.equal(msg.method, Method.CreatePermission);
      assert.equal(msg.cls, 'request');
      assert.deepEqual(addressAttribute(msg, Attr.XorPeerAddress), a);
      assert.equal(verifyIntegrity(raw, key), true);
    }
  });

  it('never throws on garbage, and KRPC never looks like STUN', () => {
    const random = new SeededRandom(5);
    for (let i = 0; i < 2_000; i++) {
      const b = random.bytes(random.int(120));
      if (b.length > 8) b.set([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42].slice(0, random.int(9)));
      decodeStun(b);
    }
    const truncated = RFC5769_RESPONSE.slice(0, 50);
    assert.equal(decodeStun(truncated), undefined);
    assert.equal(looksLikeStun(KRPC_PING), false);
  });

  it('names NAT kinds from mapping and filtering', () => {
    assert.equal(natKind('none', 'endpoint-independent'), 'open');
    assert.equal(natKind('endpoint-independent', 'endpoint-independent'), 'full-cone');
    assert.equal(natKind('endpoint-independent', 'address-dependent'), 'address-restricted');
    assert.equal(natKind('endpoint-independent', 'address-and-port-dependent'), 'port-restricted');
    assert.equal(natKind('endpoint-dependent', 'endpoint-independent'), 'symmetric');
    assert.equal(natKind('unknown', 'unknown'), 'unknown');
  });
});

describe('STUN client', () => {
  const server = makeAddress('198.51.100.2', 3478);

  it('retransmits on a doubling timer, matches the answer by transaction id, and times out', async () => {
    const clock = new VirtualClock();
    const sent: { at: number; data: Uint8Array }[] = [];
    const client = new StunClient((data) => sent.push({ at: clock.now(), data }), clock, new SeededRandom(1));
    const pending = client.binding(server, { timeoutMs: 1_500 });
    await clock.advance(350);
    assert.deepEqual(
      sent.map((s) => s.at),
      [0, 200],
    );
    const req = decodeStun(sent[0]!.data)!;
    const mapped = makeAddress('203.0.113.9', 40000);
    // The answer comes from another address (as a CHANGE-REQUEST answer would): still matched.
    client.receive(
      encodeStun({
        method: Method.Binding,
        cls: 'success',
        transactionId: req.transactionId,
        attributes: [{ type: Attr.XorMappedAddress, value: encodeAddress(mapped, req.transactionId, true) }],
      }),
      makeAddress('198.51.100.3', 3479),
    );
    const r = await pending;
    assert.deepEqual(r.mapped, mapped);
    assert.equal(r.origin.host, '198.51.100.3');

    const lost = client.binding(server, { timeoutMs: 1_000 });
    const failure = assert.rejects(lost, { code: 'TIMEOUT' });
    await clock.advance(1_100);
    await failure;
    assert.equal(sent.length, 2 + 3, 'three sends within one second: at 0, 200, 600 ms');
  });

  it('turns an error answer into a StunError with the code', async () => {
    const clock = new VirtualClock();
    let last: Uint8Array | undefined;
    const client = new StunClient((data) => (last = data), clock, new SeededRandom(2));
    const pending = client.request(server, Method.Allocate, () => []);
    const req = decodeStun(last!)!;
    client.receive(
      encodeStun({
        method: Method.Allocate,
        cls: 'error',
        transactionId: req.transactionId,
        attributes: [{ type: Attr.ErrorCode, value: Uint8Array.from([0, 0, 4, 1, 0x55]) }],
      }),
      server,
    );
    await assert.rejects(pending, (err: unknown) => err instanceof StunError && err.stunCode === 401);
  });
});

describe('punch query parsing', () => {
  const id = new Uint8Array(20).fill(1);
  const addr = encodeCompactAddress(makeAddress('198.51.100.9', 6881))!;

  it('takes exactly one of to / from, and an optional relayed address', () => {
    const to = parseQuery({ t: new Uint8Array(2), q: 'punch', a: { id, to: addr }, ro: false } as never);
    assert.ok(to.ok && to.query.method === 'punch' && to.query.to?.port === 6881 && !to.query.from);
    const from = parseQuery({
      t: new Uint8Array(2),
      q: 'punch',
      a: { id, from: addr, r: addr },
      ro: false,
    } as never);
    assert.ok(
      from.ok &&
        from.query.method === 'punch' &&
        from.query.from &&
        from.query.relayed?.host === '198.51.100.9',
    );
    const both = parseQuery({
      t: new Uint8Array(2),
      q: 'punch',
      a: { id, to: addr, from: addr },
      ro: false,
    } as never);
    assert.equal(both.ok, false);
    const neither = parseQuery({ t: new Uint8Array(2), q: 'punch', a: { id }, ro: false } as never);
    assert.equal(neither.ok, false);
  });
});

describe('SplitTransport', () => {
  it('sends STUN to the side handler, the rest to the main one, and routes sends', () => {
    let inner: DatagramHandler = () => undefined;
    const out: Address[] = [];
    const t: Transport = {
      address: makeAddress('127.0.0.1', 1),
      send: (_d, to) => out.push(to),
      onMessage: (h) => (inner = h),
      onError: () => undefined,
      close: async () => undefined,
    };
    const split = new SplitTransport(t, looksLikeStun);
    const main: Uint8Array[] = [];
    const side: Uint8Array[] = [];
    split.onMessage((d) => main.push(d));
    split.onSide((d) => side.push(d));
    const from = makeAddress('127.0.0.1', 2);
    inner(RFC5769_RESPONSE, from);
    inner(KRPC_PING, from);
    assert.equal(side.length, 1);
    assert.equal(main.length, 1);
    const relayed: Address[] = [];
    split.route = (_d, to) => (to.port === 9 ? (relayed.push(to), true) : false);
    split.send(new Uint8Array(1), makeAddress('127.0.0.1', 9));
    split.send(new Uint8Array(1), makeAddress('127.0.0.1', 8));
    assert.deepEqual([relayed.map((a) => a.port), out.map((a) => a.port)], [[9], [8]]);
  });
});
