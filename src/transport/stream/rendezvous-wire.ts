/**
 * The bytes a splice relay's rendezvous speaks (splice-rendezvous.ts on the relay, relay-registration.ts
 * and simultaneous-open.ts on the peers). Every connection to a relay opens with one kind byte:
 *
 *   SPLICE_VERSION ‖ circuit id        join a splice (splice-relay.ts)
 *   LISTEN ‖ public key                 wait to be called; the relay answers a CHALLENGE_BYTES
 *                                       nonce, the listener a signature over listenDigest()
 *   CALL ‖ public key                   be spliced to that key's listener
 *   PUNCH ‖ public key                  meet that key's listener in a TCP simultaneous open
 *   PUNCH_ANSWER ‖ circuit id           the listener's side of a PUNCH
 *
 * Down a proven listener's control connection the relay writes messages:
 *   MSG_CIRCUIT ‖ circuit id            someone CALLed: join the circuit with dialSplice
 *   MSG_PUNCH ‖ circuit id ‖ endpoint   someone PUNCHed from endpoint: answer with PUNCH_ANSWER
 * and to both sides of a punch, once both are there, the other side's endpoint and then their own
 * (as the relay saw them), and end: that is the moment both dial.
 *
 * An endpoint is family (4 | 6) ‖ address (4 | 16 bytes) ‖ port (2 bytes, big-endian).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Address, makeAddress } from '../address.js';
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from '../ip.js';
import { KadmiumError } from '../../util/errors.js';

export const LISTEN_OPENING = 2;
export const CALL_OPENING = 3;
export const PUNCH_OPENING = 4;
export const PUNCH_ANSWER_OPENING = 5;
export const KEY_BYTES = 33;
export const ID_BYTES = 16;
/** An opening that names a key (LISTEN, CALL, PUNCH). */
export const OPENING_BYTES = 1 + KEY_BYTES;
/** An opening that names a circuit (a splice join, PUNCH_ANSWER). */
export const ID_OPENING_BYTES = 1 + ID_BYTES;
/** The relay's nonce a listener signs: fresh per control connection, so a proof cannot be replayed. */
export const CHALLENGE_BYTES = 32;
/** r ‖ s ‖ recovery id over a 32-byte digest (the overlay's signature format). */
export const LISTEN_SIGNATURE_BYTES = 65;

export const MSG_CIRCUIT = 1;
export const MSG_PUNCH = 2;

const LISTEN_LABEL = new TextEncoder().encode('kadmium splice-relay listen v1');

/** What a listener signs: the relay's nonce and the key it registers under. */
export function listenDigest(challenge: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const all = new Uint8Array(LISTEN_LABEL.length + challenge.length + publicKey.length);
  all.set(LISTEN_LABEL);
  all.set(challenge, LISTEN_LABEL.length);
  all.set(publicKey, LISTEN_LABEL.length + challenge.length);
  return sha256(all);
}

export function opening(kind: number, body: Uint8Array): Uint8Array {
  const want = kind === PUNCH_ANSWER_OPENING ? ID_BYTES : KEY_BYTES;
  if (body.length !== want)
    throw new KadmiumError('RENDEZVOUS_OPENING', `this opening takes ${want} bytes, got ${body.length}`);
  const out = new Uint8Array(1 + body.length);
  out[0] = kind;
  out.set(body, 1);
  return out;
}

export function encodeEndpoint(a: Address): Uint8Array {
  const v6 = a.family === 6;
  const out = new Uint8Array(v6 ? 19 : 7);
  out[0] = a.family;
  const ip = v6 ? ipv6ToBytes(a.host, out, 1) : ipv4ToBytes(a.host, out, 1);
  if (!ip) throw new KadmiumError('RENDEZVOUS_ENDPOINT', `cannot encode ${a.host}; pass an IP address`);
  const at = v6 ? 17 : 5;
  out[at] = a.port >> 8;
  out[at + 1] = a.port & 0xff;
  return out;
}

/** Bytes an endpoint starting at `offset` takes, or undefined when the family byte is neither 4 nor 6. */
export function endpointLength(b: Uint8Array, offset = 0): number | undefined {
  const family = b[offset];
  return family === 4 ? 7 : family === 6 ? 19 : undefined;
}

/** The endpoint at `offset`; undefined when short, of an unknown family or port 0. Never throws. */
export function decodeEndpoint(b: Uint8Array, offset = 0): Address | undefined {
  const length = endpointLength(b, offset);
  if (length === undefined || b.length < offset + length) return undefined;
  const v6 = b[offset] === 6;
  const host = v6 ? bytesToIpv6(b, offset + 1) : bytesToIpv4(b, offset + 1);
  const port = ((b[offset + length - 2] as number) << 8) | (b[offset + length - 1] as number);
  if (port === 0) return undefined;
  try {
    return makeAddress(host, port);
  } catch {
    return undefined;
  }
}

/** The address a socket's peer connects from, as the relay reports it (IPv4-mapped IPv6 unwrapped). */
export function remoteEndpoint(
  remoteAddress: string | undefined,
  remotePort: number | undefined,
): Address | undefined {
  if (!remoteAddress || !remotePort) return undefined;
  try {
    return makeAddress(remoteAddress.replace(/^::ffff:/, ''), remotePort);
  } catch {
    return undefined;
  }
}
