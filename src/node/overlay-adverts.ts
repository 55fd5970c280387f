/**
 * Full-node adverts (Skywire's `fullnode_advert.go`, spec §3), bound to their signer. A full node
 * publishes `{"pk","addr","stored_items","full_node","ts"}` under salt "fullnode" every 5 minutes;
 * other full nodes, which store everything, find each other in their own stores and reconcile.
 *
 * Skywire never checked that the advert's `pk` was the key that signed it, so anyone could
 * advertise someone else's node. Here an advert counts only when `pk` equals the signer, it says
 * it is a full node, and its `ts` is at most 30 minutes old.
 */
import { addressKey, isWildcardHost, makeAddress, parseHostPort } from '../transport/address.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { isIP } from 'node:net';
import type { MutableItem } from '../protocols/overlay/item.js';
import type { OverlayStore } from '../protocols/overlay/store.js';
import type { OverlayBootstrap, OverlayNode } from './overlay-node.js';

/**
 * Feature breakers (node/feature-breakers.ts) over a full node's timed extras: reconciling with
 * the other full nodes, and publishing its own advert. Off, the node still stores and serves
 * everything; it only stops pulling what others hold, or stops saying it is a full node.
 */
export const OVERLAY_RECONCILE_FEATURE = 'overlay-reconcile';
export const OVERLAY_ADVERT_FEATURE = 'overlay-advert';
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

/** Reconcile `node` with `configured` full nodes and every fresh advert it holds, one at a time. */
export async function reconcileWithAll(
  node: OverlayNode,
  configured: readonly OverlayBootstrap[],
  now: number,
  closed: () => boolean,
): Promise<void> {
  const peers = new Map<string, OverlayBootstrap>();
  for (const peer of [...configured, ...(await advertisedFullNodes(node.store, now))]) {
    if (!bytesEqual(peer.publicKey, node.publicKey)) peers.set(toHex(peer.publicKey), peer);
  }
  for (const peer of peers.values()) {
    if (closed()) return;
    await node.reconcile(peer).catch((err: unknown) =>
      node.events.emit('overlay:warning', {
        code: 'RECONCILE',
        message: `reconcile with ${addressKey(peer.address)}: ${String(err)}`,
      }),
    );
  }
}

/** Publish `node`'s advert for `host`:`port`; a wildcard host is refused with a warning. */
export async function advertiseFullNode(
  node: OverlayNode,
  host: string,
  port: number,
  now: number,
): Promise<void> {
  if (isWildcardHost(host)) {
    node.events.emit('overlay:warning', {
      code: 'ADVERT',
      message: `full-node advert not sent: bound to ${host}, which others cannot dial; set advertisedHost (overlay.advertise_host)`,
    });
    return;
  }
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const advert = encodeAdvert(node.publicKey, addr, node.store.size, now);
  await node
    .put(advert, { salt: FULL_NODE_SALT })
    .catch((err: unknown) =>
      node.events.emit('overlay:warning', { code: 'ADVERT', message: `full-node advert: ${String(err)}` }),
    );
}
