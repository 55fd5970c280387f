import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { toHex } from '../../src/util/bytes.js';
import {
  cidBytesOfInfohash,
  cidBytesOfText,
  cidTextOfInfohash,
  ethereumNodeIdOf,
  infohashFromName,
  isCidOfInfohash,
  overlayNodeIdOf,
  topicOfInfohash,
} from '../../src/universal/keys.js';

const INFOHASH = Uint8Array.from(Buffer.from('c12fe1c06bba254a9dc9f519b335aa7c1367a88a', 'hex'));

describe('key mapping', () => {
  it('infohash -> CID: CIDv1 raw sha2-256 of the infohash, printed as IPFS prints it', () => {
    const cid = cidBytesOfInfohash(INFOHASH);
    assert.equal(toHex(cid.subarray(0, 4)), '01551220');
    assert.equal(toHex(cid.subarray(4)), createHash('sha256').update(INFOHASH).digest('hex'));
    const text = cidTextOfInfohash(INFOHASH);
    assert.match(text, /^bafkrei[a-z2-7]{52}$/);
    assert.deepEqual(cidBytesOfText(text), cid);
    assert.ok(isCidOfInfohash(cid, INFOHASH));
    assert.ok(!isCidOfInfohash(cid, infohashFromName('other')));
  });

  it('infohash -> topic: SHA-256 with a domain, distinct from the CID digest', () => {
    const topic = topicOfInfohash(INFOHASH);
    assert.equal(topic.length, 32);
    assert.equal(
      toHex(topic),
      createHash('sha256').update('kadmium/topic/v1').update(INFOHASH).digest('hex'),
    );
    assert.notEqual(toHex(topic), toHex(cidBytesOfInfohash(INFOHASH).subarray(4)));
  });

  it('name -> infohash is SHA-1 of the UTF-8 name; a wrong-size infohash is refused', () => {
    assert.equal(toHex(infohashFromName('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.throws(() => cidBytesOfInfohash(new Uint8Array(32)), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => topicOfInfohash(new Uint8Array(19)), { code: 'INVALID_ARGUMENT' });
  });

  it('one secp256k1 key: its overlay id and its Ethereum node id', () => {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
    assert.deepEqual(overlayNodeIdOf(identity.publicKey), identity.id);
    // The discv5 wire spec's test vectors: node-a-key eef77acb... has node id aaaa8419...
    const secret = Buffer.from('eef77acb6c6a6eebc5b363a475ac583ec7eccdb42b6481424c60f59aa326547f', 'hex');
    const pub = secp256k1.getPublicKey(secret, true);
    assert.equal(
      toHex(ethereumNodeIdOf(pub)),
      'aaaa8419e9f49d0083561b48287df592939a8d19947d8c0ef88f2a4856a69fbb',
    );
    assert.deepEqual(ethereumNodeIdOf(secp256k1.getPublicKey(secret, false)), ethereumNodeIdOf(pub));
  });
});
