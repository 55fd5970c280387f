/**
 * The request signing TPD and SD use (spec §6.1): the client fetches its next nonce, signs
 * body || decimal(nonce) with SignPayload, and sends SW-Public, SW-Nonce and SW-Sig. The server
 * accepts a nonce once: a recorded request replayed later names a spent nonce and is refused.
 */
import { fromHex, toHex } from '../../util/bytes.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../overlay/constants.js';
import { isValidPublicKey, verifyPayload } from '../overlay/identity.js';

export const SW_PUBLIC = 'sw-public';
export const SW_NONCE = 'sw-nonce';
export const SW_SIG = 'sw-sig';
/** Nonces are uint64 counters. */
const MAX_NONCE = (1n << 64n) - 1n;

export interface AuthHeaders {
  publicKey: Uint8Array;
  nonce: bigint;
  signature: Uint8Array;
}

const utf8 = new TextEncoder();

/** The bytes a request's signature covers. */
export function authPayload(body: Uint8Array, nonce: bigint): Uint8Array {
  const n = utf8.encode(nonce.toString());
  const out = new Uint8Array(body.length + n.length);
  out.set(body, 0);
  out.set(n, body.length);
  return out;
}

/** The three headers for a request, signed by `signer`. */
export function signRequest(
  body: Uint8Array,
  nonce: bigint,
  signer: { publicKey: Uint8Array; sign(payload: Uint8Array): Uint8Array },
): Record<string, string> {
  return {
    'SW-Public': toHex(signer.publicKey),
    'SW-Nonce': nonce.toString(),
    'SW-Sig': toHex(signer.sign(authPayload(body, nonce))),
  };
}

/** Read the headers (lowercase names, as node:http gives them). Never throws. */
export function readAuthHeaders(
  headers: Record<string, string | string[] | undefined>,
): { ok: true; value: AuthHeaders } | { ok: false; message: string } {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const pk = one(SW_PUBLIC);
  const nonceText = one(SW_NONCE);
  const sigText = one(SW_SIG);
  if (pk === undefined || nonceText === undefined || sigText === undefined) {
    return { ok: false, message: 'SW-Public, SW-Nonce and SW-Sig headers are required' };
  }
  const publicKey = pk.length === PUBLIC_KEY_BYTES * 2 ? fromHex(pk) : undefined;
  if (!publicKey || !isValidPublicKey(publicKey))
    return { ok: false, message: 'SW-Public is not a public key' };
  if (!/^\d{1,20}$/.test(nonceText) || BigInt(nonceText) > MAX_NONCE) {
    return { ok: false, message: 'SW-Nonce is not a decimal uint64' };
  }
  const signature = sigText.length === SIGNATURE_BYTES * 2 ? fromHex(sigText) : undefined;
  if (!signature) return { ok: false, message: 'SW-Sig is not a 65-byte signature in hex' };
  return { ok: true, value: { publicKey, nonce: BigInt(nonceText), signature } };
}

/** The signature over body || nonce verifies for the public key. */
export function verifyRequest(auth: AuthHeaders, body: Uint8Array): boolean {
  return verifyPayload(auth.publicKey, authPayload(body, auth.nonce), auth.signature);
}
