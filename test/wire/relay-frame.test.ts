import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRelayFrame, encodeRelayFrame, looksLikeRelayFrame } from '../../src/wire/relay-frame.js';

describe('relay frames', () => {
  it('round-trip an IPv4 and an IPv6 peer with the payload untouched', () => {
    const payload = new Uint8Array([100, 49, 58, 97, 101]);
    for (const peer of [
      { host: '198.51.100.7', port: 6881, family: 4 as const },
      { host: '2001:db8::1', port: 443, family: 6 as const },
    ]) {
      const frame = encodeRelayFrame(peer, payload) as Uint8Array;
      assert.ok(looksLikeRelayFrame(frame));
      const d = decodeRelayFrame(frame);
      assert.deepEqual(d?.peer, peer);
      assert.deepEqual([...(d?.payload ?? [])], [...payload]);
    }
  });

  it('is never mistaken for KRPC or STUN, and junk decodes to undefined without throwing', () => {
    assert.equal(looksLikeRelayFrame(new TextEncoder().encode('d1:ad2:id20:')), false);
    assert.equal(looksLikeRelayFrame(new Uint8Array([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42])), false);
    const bad = [
      new Uint8Array([0x4b, 0x52, 0x4c]),
      new Uint8Array([0x4b, 0x52, 0x4c, 5, 1, 2, 3, 4, 5, 6]),
      new Uint8Array([0x4b, 0x52, 0x4c, 4, 1, 2, 3]),
      new Uint8Array([0x4b, 0x52, 0x4c, 4, 1, 2, 3, 4, 0, 0]),
    ];
    for (const b of bad) assert.equal(decodeRelayFrame(b), undefined);
  });
});
