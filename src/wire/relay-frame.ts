/**
 * The datagrams a DHT-node relay carries (node/relay-server.ts): a 4-byte tag, the other end's
 * compact address, and the payload untouched. The tag cannot be mistaken for KRPC (a bencoded
 * dict starts with "d") or STUN (its first two bits are zero).
 *
 *   "KRL" ‖ family (4 or 6) ‖ ip ‖ port ‖ payload
 *
 * Towards the relay the address is where the payload goes; from the relay, where it came from.
 */
import type { Address } from '../transport/address.js';
import { decodeCompactAddress, encodeCompactAddress } from './compact.js';

const TAG = [0x4b, 0x52, 0x4c] as const;
/** Tag, family byte and the longest (IPv6) compact address. */
export const RELAY_FRAME_MAX_HEADER = 4 + 18;

export function looksLikeRelayFrame(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === TAG[0] && data[1] === TAG[1] && data[2] === TAG[2];
}

export function encodeRelayFrame(peer: Address, payload: Uint8Array): Uint8Array | undefined {
  const compact = encodeCompactAddress(peer);
  if (!compact) return undefined;
  const out = new Uint8Array(4 + compact.length + payload.length);
  out.set(TAG, 0);
  out[3] = peer.family;
  out.set(compact, 4);
  out.set(payload, 4 + compact.length);
  return out;
}

/** The frame's address and payload (a view into `data`); undefined when it is not a valid frame. */
export function decodeRelayFrame(data: Uint8Array): { peer: Address; payload: Uint8Array } | undefined {
  if (!looksLikeRelayFrame(data)) return undefined;
  const family = data[3];
  const length = family === 4 ? 6 : family === 6 ? 18 : 0;
  if (length === 0 || data.length < 4 + length) return undefined;
  const peer = decodeCompactAddress(data.subarray(4, 4 + length));
  if (!peer || peer.port === 0) return undefined;
  return { peer, payload: data.subarray(4 + length) };
}
