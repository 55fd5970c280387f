/**
 * Adversaries for the overlay simulator: real `OverlayNode`s (their handshake, table, lookups and
 * upkeep run unmodified) whose inbound handler is replaced by a hostile one through the stream
 * RPC's public `onRequest` (the node's own handler is simply never called). Each kind is one policy:
 *
 * - eclipse:  FindNode / GetValue are answered with the K colluders closest to the target, never
 *             an item; PutValue says "stored" and drops the item.
 * - fake:     answers with the K contacts of a shared pool of keys nobody listens for (valid
 *             id = SHA-256(key), so they pass the client's checks; dialling them fails after a
 *             round trip), closer to most targets than real nodes because the pool is larger
 *             than the network; stores dropped.
 * - storage:  routes honestly (its referrals are its real table) but drops puts and keeps the
 *             first version it saw of each item; half of them serve that version forever (stale
 *             after an update), half a forged copy (value changed, signature kept), and both
 *             serve their own item for targets they hold nothing for (its target check fails).
 * - sybil:    the eclipse policy from ids that all live on one /24 (66.66.66.0/24, many ports per
 *             host), so the routing table's per-/24 limit is what stands against it.
 * - targeted: the eclipse policy from ids ground to share a prefix with one victim target. Ids
 *             are SHA-256 of a public key, so a placed id costs 2^bits keys (`grindNear`).
 */
import { Colluders, sybilSlot } from './adversary.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { NodeId } from '../kademlia/id.js';
import type { OverlayNode } from '../node/overlay-node.js';
import { timestampFromMs } from '../protocols/overlay/fields.js';
import { OverlayIdentity, overlayIdOf } from '../protocols/overlay/identity.js';
import { itemTarget, type MutableItem, signItem } from '../protocols/overlay/item.js';
import { checkStatic, NO_PUZZLE, type PuzzleDifficulty } from '../protocols/overlay/puzzle.js';
import { decodeRequest, encodeResponse, type OverlayPeer } from '../protocols/overlay/messages.js';
import { overlayPeerOf } from '../protocols/overlay/peer-json.js';
import { RpcErrorCode, RpcReplyError, type StreamRequestHandler } from '../rpc/stream-rpc.js';
import type { Address } from '../transport/address.js';
import { KadmiumError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import { sha256 } from '../util/sha256.js';

export const OVERLAY_ADVERSARY_KINDS = ['eclipse', 'fake', 'storage', 'sybil', 'targeted'] as const;
export type OverlayAdversaryKind = (typeof OVERLAY_ADVERSARY_KINDS)[number];

/** The /24 every overlay Sybil lives in (public, so the table's diversity limits apply). */
export const OVERLAY_SYBIL_SUBNET = '66.66.66';
/** Keys in the fake pool per adversary: the pool outnumbers the honest nodes, so its ids look closer. */
export const FAKE_KEYS_PER_ADVERSARY = 8;
/** No node listens on this port: a dial to a fake contact is refused after a round trip. */
export const OVERLAY_FAKE_PORT = 2;
/** Items a storage adversary remembers (the first version of each), oldest forgotten first. */
export const STORAGE_ADVERSARY_MAX_ITEMS = 4_096;
/** Fake-pool keys and ground keys come from a point walk: at most this many in all. */
const MAX_WALK_KEYS = 1 << 26;

/** A contact as a reply carries it. */
interface Member {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
  readonly address: Address;
}

/** Every colluder's contact (or the fake pool), shared by all of them (sim/adversary.ts's). */
export class OverlayColluders extends Colluders<Member> {}

function peerOf(m: Member, now: number): OverlayPeer {
  return {
    id: m.id as NodeId,
    pk: m.key,
    lastSeen: timestampFromMs(now),
    addr: `${m.address.host}:${m.address.port}`,
  };
}

/**
 * The hostile handler for `node`. `colluders` (for eclipse, sybil and targeted: the adversaries;
 * for fake: the pool of dead keys) is read at answer time, so adversaries made later are known.
 */
export function hostileOverlayHandler(
  kind: OverlayAdversaryKind,
  node: OverlayNode,
  colluders: OverlayColluders,
  identity: OverlayIdentity,
  now: () => number,
): StreamRequestHandler {
  const seen = new Map<string, MutableItem>();
  const honestClosest = (target: Uint8Array): OverlayPeer[] =>
    node.table.closest(target, node.k, { answered: true }).map(overlayPeerOf);
  const hostileClosest = (target: Uint8Array): OverlayPeer[] =>
    colluders.closest(target, node.k).map((m) => peerOf(m, now()));
  return (tag, json) => {
    const decoded = decodeRequest(tag, json);
    if (!decoded.ok) throw new RpcReplyError(RpcErrorCode.BadRequest, decoded.error.message);
    const request = decoded.message;
    switch (request.method) {
      case 'ping':
        return encodeResponse({
          method: 'ping',
          responderId: node.id as NodeId,
          responderPk: node.publicKey,
        });
      case 'find_node':
        return encodeResponse({
          method: 'find_node',
          closest: kind === 'storage' ? honestClosest(request.target) : hostileClosest(request.target),
        });
      case 'get_value': {
        if (kind !== 'storage') {
          return encodeResponse({ method: 'get_value', closest: hostileClosest(request.target) });
        }
        const kept = seen.get(Buffer.from(request.target).toString('hex'));
        // Half the storage adversaries (by id) serve the first version they kept: valid, but
        // stale once the publisher updates. The others forge: the kept item with another value
        // (its signature fails), or their own item when they kept none (its target fails).
        const forged = kept
          ? { ...kept, v: new TextEncoder().encode('forged') }
          : signItem(identity, new TextEncoder().encode('forged'), 1n);
        const item = kept && ((node.id[31] as number) & 1) === 1 ? kept : forged;
        return encodeResponse({ method: 'get_value', item, closest: honestClosest(request.target) });
      }
      case 'put_value': {
        if (kind === 'storage') {
          const key = Buffer.from(itemTarget(request.item.k, request.item.salt)).toString('hex');
          if (!seen.has(key)) {
            if (seen.size >= STORAGE_ADVERSARY_MAX_ITEMS) seen.delete(seen.keys().next().value as string);
            seen.set(key, request.item);
          }
        }
        return encodeResponse({ method: 'put_value', stored: true });
      }
      case 'get_items':
        return encodeResponse({ method: 'get_items', items: [], targets: [], hasMore: false });
      case 'put_batch':
        return encodeResponse({ method: 'put_batch', stored: request.items.map(() => true) });
    }
  };
}

/** A fresh secret key from `random` as a scalar in [1, n-1]. */
function randomScalar(random: Random): bigint {
  for (let tries = 0; tries < 64; tries++) {
    const key = random.bytes(32);
    if (secp256k1.utils.isValidSecretKey(key)) return BigInt(`0x${Buffer.from(key).toString('hex')}`);
  }
  throw new KadmiumError(
    'NO_SCALAR',
    'the random source gave no valid secp256k1 scalar in 64 draws; check it',
  );
}

/**
 * `count` public keys nobody holds an endpoint for (the fake pool): a point walk from a random
 * start, one point addition each. Their secret keys are never needed.
 */
export function fakeKeys(count: number, random: Random): Uint8Array[] {
  const out: Uint8Array[] = [];
  const G = secp256k1.Point.BASE;
  let point = G.multiply(randomScalar(random));
  for (let i = 0; i < Math.min(count, MAX_WALK_KEYS); i++) {
    out.push(point.toBytes(true));
    point = point.add(G);
  }
  return out;
}

export interface GrindResult {
  identity: OverlayIdentity;
  /** Keys tried until one's id shared `bits` leading bits with the target. */
  tries: number;
}

/**
 * Key grinding for a targeted attacker: secret keys k, k+1, ... (each public key is the previous
 * plus G, one point addition, the cheapest walk there is) until SHA-256 of the compressed key
 * shares `bits` leading bits with target. Expected cost 2^bits keys; bounded at 2^(bits+8).
 * On a network with puzzles the id must also meet the static puzzle (2^(bits + staticBits) keys)
 * and then solve the dynamic one (2^dynamicBits hashes, once).
 */
export function grindNear(
  target: Uint8Array,
  bits: number,
  random: Random,
  difficulty: PuzzleDifficulty = NO_PUZZLE,
): GrindResult {
  const G = secp256k1.Point.BASE;
  const start = randomScalar(random);
  let point = G.multiply(start);
  const limit = Math.min(MAX_WALK_KEYS, 2 ** (bits + difficulty.staticBits + 8));
  for (let tries = 1; tries <= limit; tries++) {
    const publicKey = point.toBytes(true);
    const id = sha256(publicKey);
    if (sharedPrefixBits(id, target) >= bits && checkStatic(id, difficulty.staticBits)) {
      const scalar = (start + BigInt(tries - 1)) % secp256k1.Point.CURVE().n;
      const secret = Uint8Array.from(Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex'));
      const identity = OverlayIdentity.fromSecretKey(secret, { dynamicBits: difficulty.dynamicBits });
      return { identity, tries };
    }
    point = point.add(G);
  }
  throw new KadmiumError(
    'GRIND_FAILED',
    `no key shared ${bits} bits with the target in ${limit} tries; ask for fewer bits`,
  );
}

export function sharedPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) ^ (b[i] as number);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

/** A Sybil's address: one /24, 254 hosts, then the next port. */
export function overlaySybilAddress(index: number): Address {
  return { ...sybilSlot(OVERLAY_SYBIL_SUBNET, 7001, index), family: 4 };
}

/** A fake contact's address: spread over public /24s, on a port nobody listens on. */
function fakeAddress(index: number): Address {
  return {
    host: `${11 + ((index >> 16) % 90)}.${(index >> 8) & 255}.${index & 255}.1`,
    port: OVERLAY_FAKE_PORT,
    family: 4,
  };
}

/** Fill `pool` with `count` fake contacts. */
export function fillFakePool(pool: OverlayColluders, count: number, random: Random): void {
  fakeKeys(count, random).forEach((key, i) =>
    pool.add({ id: overlayIdOf(key), key, address: fakeAddress(i) }),
  );
}
