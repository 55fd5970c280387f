// The simulator's datagram census (issue 15: what a run's datagrams are made of).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatagramCounts, datagramKind } from '../../src/sim/datagram-kinds.js';
import { encodeError, encodeQuery, encodeResponse } from '../../src/wire/krpc.js';

const id = new Uint8Array(20).fill(0x71);
const t = new Uint8Array([0x31, 0x3a]);

describe('datagram kinds', () => {
  it('names queries by method, replies and errors as the node encodes them', () => {
    for (const method of ['ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put']) {
      assert.equal(datagramKind(encodeQuery(t, method, { id, target: id, info_hash: id })), `q:${method}`);
      assert.equal(
        datagramKind(encodeQuery(t, method, { id }, { ro: true })),
        `q:${method}`,
        'read-only too',
      );
    }
    assert.equal(datagramKind(encodeQuery(t, 'vote', { id })), 'q:other');
    assert.equal(datagramKind(encodeResponse(t, { id, nodes: id })), 'r');
    assert.equal(datagramKind(encodeError(t, 201, 'no')), 'e');
    assert.equal(datagramKind(new Uint8Array([1, 2, 3])), 'other');
    assert.equal(datagramKind(new Uint8Array(0)), 'other');
  });

  it('counts a span between two snapshots, kinds sent only', () => {
    const counts = new DatagramCounts();
    counts.add(encodeQuery(t, 'ping', { id }));
    const before = counts.snapshot();
    counts.add(encodeQuery(t, 'get_peers', { id, info_hash: id }));
    counts.add(encodeResponse(t, { id }));
    counts.add(encodeResponse(t, { id }));
    assert.deepEqual(DatagramCounts.minus(counts.snapshot(), before), { 'q:get_peers': 1, r: 2 });
  });
});
