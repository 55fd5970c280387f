/**
 * Full-node adverts (Skywire's `fullnode_advert.go`, spec §3), bound to their signer. A full node
 * publishes `{"pk","addr","stored_items","full_node","ts"}` under salt "fullnode" every 5 minutes;
 * other full nodes, which store everything, find each other in their own stores and reconcile.
 *
 * Skywire never checked that the advert's `pk` was the key that signed it, so anyone could
 * advertise someone else's node. Here an advert counts only when `pk` equals the signer, it says
 * it is a full node, and its `ts` is at most 30 minutes old.
 */
import { makeAddress, parseHostPort } from '../transport/address.js';
import { toHex } from '../util/bytes.js';
import { isIP } from 'node:net';
import type { MutableItem } from '../protocols/overlay/item.js';
import type { OverlayStore } from '../protocols/overlay/store.js';
import type { OverlayBootstrap } from './overlay-node.js';

export const FULL_NODE_SALT = new TextEncoder().encode('fullnode');
export const ADVERT_INTERVAL_MS = 5 * 60_000;
/** An advert older than this is stale (Skywire's fullNodeAdvertFreshness). */
export const ADVERT_FRESH_MS = 30 * 60_000;
/** Adverts read at most, per lookup of the store. */
const MAX_ADVERTS = 256;

export function encodeAdvert(
  publicKey: Uint8Array,
  addr: string,
  storedItems: number,
  nowMs: number,
): Uint8Array {
  const ts = (BigInt(Math.floor(nowMs)) * 1_000_000n).toString();
  return new TextEncoder().encode(
    `{"pk":"${toHex(publicKey)}","addr":${JSON.stringify(addr)},"stored_items":${storedItems},"full_node":true,"ts":${ts}}`,
  );
}

/** The full node an advert names, or undefined when it is malformed, stale or not its signer's. */
export function readAdvert(item: MutableItem, nowMs: number): OverlayBootstrap | undefined {
  let advert: unknown;
  try {
    advert = JSON.parse(new TextDecoder().decode(item.v));
  } catch {
    return undefined;
  }
  if (typeof advert !== 'object' || advert === null) return undefined;
  const { pk, addr, full_node: fullNode, ts } = advert as Record<string, unknown>;
  if (pk !== toHex(item.k) || fullNode !== true || typeof addr !== 'string') return undefined;
  // ts is UnixNano; a double keeps its value to well under a millisecond, enough for freshness.
  if (typeof ts !== 'number' || !(nowMs - ts / 1e6 <= ADVERT_FRESH_MS)) return undefined;
  const hostPort = parseHostPort(addr);
  if ('error' in hostPort || isIP(hostPort.host) === 0) return undefined;
  return { publicKey: item.k, address: makeAddress(hostPort.host, hostPort.port) };
}

/** Fresh, signer-bound adverts this node holds (a full node holds every one published). */
export async function advertisedFullNodes(store: OverlayStore, nowMs: number): Promise<OverlayBootstrap[]> {
  const page = await store.getItems(FULL_NODE_SALT, 0n, MAX_ADVERTS, nowMs);
  const out: OverlayBootstrap[] = [];
  for (const { item } of page.items) {
    const advert = readAdvert(item, nowMs);
    if (advert) out.push(advert);
  }
  return out;
}
