import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADVERT_FRESH_MS, encodeAdvert, FULL_NODE_SALT, readAdvert } from '../../src/node/overlay-adverts.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { signItem } from '../../src/protocols/overlay/item.js';

const NOW = 1_790_000_000_000;
const id = (): OverlayIdentity => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });

describe('full-node adverts', () => {
  it('count only when bound to their signer, fresh, and naming a full node at an IP', () => {
    const a = id();
    const advert = signItem(a, encodeAdvert(a.publicKey, '10.0.0.1:7900', 12, NOW), 1n, FULL_NODE_SALT);
    const read = readAdvert(advert, NOW + 1_000);
    assert.deepEqual(read?.publicKey, a.publicKey);
    assert.equal(read?.address.host, '10.0.0.1');
    assert.equal(read?.address.port, 7900);
    // Signed by mallory, naming a's key: Skywire accepted this; here it does not count.
    const mallory = id();
    const forged = signItem(mallory, encodeAdvert(a.publicKey, '10.6.6.6:7900', 0, NOW), 1n, FULL_NODE_SALT);
    assert.equal(readAdvert(forged, NOW), undefined);
    assert.equal(readAdvert(advert, NOW + ADVERT_FRESH_MS + 1_000), undefined, 'a stale advert counted');
    const named = signItem(a, encodeAdvert(a.publicKey, 'example.com:7900', 0, NOW), 2n, FULL_NODE_SALT);
    assert.equal(readAdvert(named, NOW), undefined, 'a DNS name is not an address');
    const junk = signItem(a, new TextEncoder().encode('{"pk":1'), 3n, FULL_NODE_SALT);
    assert.equal(readAdvert(junk, NOW), undefined);
  });
});
