import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCompactAddress, decodeNodes, encodeNodes, encodePeers } from '../../src/wire/compact.js';
import { bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from '../../src/transport/ip.js';
import { decodeKrpc, encodeError, encodeQuery, encodeResponse } from '../../src/wire/krpc.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

describe('krpc envelopes', () => {
  it('decodes the BEP 5 ping example', () => {
    const out = decodeKrpc(b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'));
    assert.ok(out.ok);
    assert.equal(out.message.y, 'q');
    if (out.message.y !== 'q') return;
    assert.equal(out.message.q, 'ping');
    assert.deepEqual(out.message.t, b('aa'));
    assert.deepEqual(out.message.a.id, b('abcdefghij0123456789'));
    assert.equal(out.message.ro, false);
  });

  it('encodes queries, responses and errors byte-exactly as BEP 5 shows', () => {
    const t = b('aa');
    assert.equal(
      Buffer.from(encodeQuery(t, 'ping', { id: b('abcdefghij0123456789') })).toString('latin1'),
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
    );
    assert.equal(
      Buffer.from(encodeResponse(t, { id: b('mnopqrstuvwxyz123456') })).toString('latin1'),
      'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
    );
    assert.equal(
      Buffer.from(encodeError(t, 201, 'A Generic Error Ocurred')).toString('latin1'),
      'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
    );
  });

  it('reads ro and ip extras', () => {
    const q = decodeKrpc(encodeQuery(b('x'), 'ping', {}, { ro: true }));
    assert.ok(q.ok && q.message.y === 'q' && q.message.ro);
    const r = decodeKrpc(encodeResponse(b('x'), {}, { ip: new Uint8Array([1, 2, 3, 4, 0, 80]) }));
    assert.ok(r.ok && r.message.y === 'r');
    if (r.ok && r.message.y === 'r') assert.deepEqual(r.message.ip, new Uint8Array([1, 2, 3, 4, 0, 80]));
  });

  it('reports malformed messages with the transaction id when readable', () => {
    const noArgs = decodeKrpc(b('d1:q4:ping1:t2:zz1:y1:qe'));
    assert.equal(noArgs.ok, false);
    if (!noArgs.ok) {
      assert.deepEqual(noArgs.t, b('zz'));
      assert.equal(noArgs.replyable, true);
      assert.match(noArgs.error, /argument/);
    }
    const garbage = decodeKrpc(b('not bencode'));
    assert.equal(garbage.ok, false);
    if (!garbage.ok) assert.equal(garbage.replyable, false);
    const noT = decodeKrpc(b('d1:y1:qe'));
    assert.equal(noT.ok, false);
    if (!noT.ok) assert.equal(noT.t, undefined);
  });
});

describe('compact encodings', () => {
  it('round-trips v4 and v6 nodes', () => {
    const id = new Uint8Array(20).fill(7);
    const v4 = [{ id, address: { host: '1.2.3.4', port: 6881, family: 4 as const } }];
    const enc4 = encodeNodes(v4, 4);
    assert.equal(enc4.length, 26);
    assert.deepEqual(decodeNodes(enc4, 20, 4), v4);
    const v6 = [{ id, address: { host: '2001:db8::1', port: 443, family: 6 as const } }];
    const enc6 = encodeNodes(v6, 6);
    assert.equal(enc6.length, 38);
    assert.deepEqual(decodeNodes(enc6, 20, 6), v6);
    assert.equal(decodeNodes(new Uint8Array(27), 20, 4), undefined);
  });

  it('encodes peers and addresses', () => {
    const [peer] = encodePeers([{ host: '10.0.0.1', port: 0x1ae1, family: 4 }]);
    assert.deepEqual(peer, new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1]));
    assert.deepEqual(decodeCompactAddress(peer as Uint8Array), { host: '10.0.0.1', port: 0x1ae1, family: 4 });
  });

  it('parses and prints IP text', () => {
    assert.equal(ipv4ToBytes('256.1.1.1'), undefined);
    assert.equal(ipv4ToBytes('1.2.3'), undefined);
    assert.equal(ipv4ToBytes('01.2.3.4'), undefined, 'leading zeros, as node:net isIP');
    assert.deepEqual(ipv4ToBytes('10.0.0.1'), new Uint8Array([10, 0, 0, 1]));
    for (const text of ['::1', '2001:db8::1', 'fe80::1:2', '1:2:3:4:5:6:7:8', '::']) {
      const bytes = ipv6ToBytes(text);
      assert.ok(bytes, text);
      assert.equal(bytesToIpv6(bytes as Uint8Array), text);
    }
    assert.equal(bytesToIpv6(ipv6ToBytes('::ffff:1.2.3.4') as Uint8Array), '::ffff:102:304');
    assert.equal(ipv6ToBytes('1::2::3'), undefined);
  });
});
