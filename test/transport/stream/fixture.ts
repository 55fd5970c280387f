/**
 * A tiny secp256k1 identity for the channel's tests, built on @noble/curves the way the overlay's
 * identity class signs: 65 bytes r||s||recid over a 32-byte digest, low S. noble's 'recovered'
 * format puts the recovery id first, so it is moved to the end here.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesEqual } from '../../../src/util/bytes.js';
import type { ChannelIdentity, VerifyDigest } from '../../../src/transport/stream/types.js';

export interface TestIdentity extends ChannelIdentity {
  readonly secretKey: Uint8Array;
}

export function testIdentity(seedByte?: number, puzzle = new Uint8Array(32)): TestIdentity {
  const secretKey =
    seedByte === undefined ? secp256k1.utils.randomSecretKey() : new Uint8Array(32).fill(seedByte);
  const publicKey = secp256k1.getPublicKey(secretKey, true);
  return {
    secretKey,
    publicKey,
    puzzle,
    signDigest(digest: Uint8Array): Uint8Array {
      const recovered = secp256k1.sign(digest, secretKey, {
        prehash: false,
        lowS: true,
        format: 'recovered',
      });
      const out = new Uint8Array(65);
      out.set(recovered.subarray(1), 0);
      out[64] = recovered[0] as number;
      return out;
    },
  };
}

/** Skywire's rule: reject high S and recid >= 4, recover the key, compare. */
export const verifyDigest: VerifyDigest = (publicKey, digest, signature) => {
  if (signature.length !== 65 || digest.length !== 32) return false;
  const recid = signature[64] as number;
  if (recid >= 4 || (signature[32] as number) >> 7 === 1) return false;
  const recovered = new Uint8Array(65);
  recovered[0] = recid;
  recovered.set(signature.subarray(0, 64), 1);
  try {
    return bytesEqual(secp256k1.recoverPublicKey(recovered, digest, { prehash: false }), publicKey);
  } catch {
    return false;
  }
};

/** Two identities with a known order of public keys: [smaller, larger]. */
export function orderedPair(): [TestIdentity, TestIdentity] {
  const a = testIdentity();
  const b = testIdentity();
  for (let i = 0; i < 33; i++) {
    if (a.publicKey[i] !== b.publicKey[i])
      return (a.publicKey[i] as number) < (b.publicKey[i] as number) ? [a, b] : [b, a];
  }
  return [a, b];
}
