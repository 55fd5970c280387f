import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createOverlayTestnet,
  formatOverlayBootstrap,
  listenOverlay,
  type OverlayTestnet,
  parseOverlayBootstrap,
} from '../../src/node/overlay-tcp.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('overlay on loopback TCP (secure channel, pooled connections)', () => {
  let net: OverlayTestnet | undefined;
  before(async () => {
    net = await createOverlayTestnet(12);
  });
  after(async () => {
    await net?.destroy();
  });

  it('puts from one node and gets from another over real sockets', async () => {
    const nodes = net?.nodes ?? [];
    const publisher = nodes[5];
    assert.ok(publisher);
    const put = await publisher.put(text('hello over tcp'), { salt: text('dmsg'), timeoutMs: 20_000 });
    assert.ok(put.stored >= 5, `stored on ${put.stored} of ${put.asked}`);
    for (const reader of nodes) {
      const got = await reader.get(publisher.publicKey, { salt: text('dmsg'), timeoutMs: 20_000 });
      assert.equal(got && new TextDecoder().decode(got.item.v), 'hello over tcp');
    }
  });

  it('joins a newcomer through PUBKEY@HOST:PORT and refuses a bootstrap that proves another key', async () => {
    const first = net?.nodes[0];
    assert.ok(first);
    const text0 = formatOverlayBootstrap(first);
    const parsed = parseOverlayBootstrap(text0);
    const newcomer = await listenOverlay({
      identity: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }),
      bootstrap: [parsed],
    });
    try {
      const joined = await newcomer.start({ timeoutMs: 20_000 });
      assert.ok(joined.ok, joined.message);
      assert.ok(newcomer.table.size >= 5);
    } finally {
      await newcomer.close();
    }
    const impostor = {
      ...parsed,
      publicKey: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }).publicKey,
    };
    const fooled = await listenOverlay({
      identity: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }),
      bootstrap: [impostor],
    });
    try {
      const joined = await fooled.start({ timeoutMs: 10_000 });
      assert.equal(joined.ok, false);
      assert.equal(fooled.table.size, 0);
    } finally {
      await fooled.close();
    }
    assert.throws(() => parseOverlayBootstrap('127.0.0.1:7000'), /PUBKEY@HOST:PORT/);
  });
});
