/**
 * FindNode and GetValue replies written straight from routing-table contacts, each contact's
 * Skywire Peer object (`{"id":[32 numbers],"pk","last_seen","addr"}`, about 250 bytes) encoded
 * once and reused while the contact is unchanged.
 *
 * Why: a node answers FindNode with the same few hundred contacts over and over, and encoding a
 * Peer (32-number id array, hex key, an RFC 3339 time through `Date`) cost ~2 µs each, 20 per
 * reply: most of the server's time per FindNode. The routing table keeps the bytes beside each
 * record (`RecordMemo`), so an unchanged contact is neither copied out nor encoded again. The
 * bytes are exactly what `encodeResponse` writes for the same peers (the tests compare them), so
 * the wire does not change.
 */
import { RecordMemo, type RoutingNode } from '../../kademlia/routing-table.js';
import { timestampFromMs } from './fields.js';
import { toHex } from '../../util/bytes.js';
import type { OverlayPeer } from './messages.js';

/**
 * Replies per second from which the cache is used. Below it, peers are encoded afresh and the
 * cache is emptied: an idle node (a simulator holds 100,000) keeps no copy of its contacts.
 */
export const PEER_JSON_CACHE_MIN_PER_SEC = 50;
const WINDOW_MS = 1_000;

const encoder = new TextEncoder();
const OPEN = encoder.encode('{"closest":[');
const CLOSE = encoder.encode(']}');
const COMMA = 0x2c;

/** The Peer a contact is sent as (what the server has always sent for a table contact). */
export function overlayPeerOf(node: RoutingNode): OverlayPeer {
  const { host, port, family } = node.address;
  return {
    id: node.id,
    pk: node.key as Uint8Array,
    lastSeen: timestampFromMs(Math.max(0, node.lastResponseAt)),
    addr: `${family === 6 ? `[${host}]` : host}:${port}`,
  };
}

/**
 * A contact's Peer object as JSON bytes: what `JSON.stringify(peerJson(overlayPeerOf(node)))`
 * writes (the tests compare them), put together directly. Every text in it is ASCII that JSON
 * writes unescaped: decimal bytes, hex, an ISO time and an IP address with its port.
 */
export function encodePeerJson(node: RoutingNode): Uint8Array {
  const { host, port, family } = node.address;
  const seen = timestampFromMs(Math.max(0, node.lastResponseAt));
  const addr = family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return encoder.encode(
    `{"id":[${node.id.join(',')}],"pk":"${toHex(node.key as Uint8Array)}","last_seen":"${seen}","addr":"${addr}"}`,
  );
}

/**
 * The closest contacts, each mapped by `make`, reusing `memo`'s values for unchanged contacts
 * when given one: `RoutingTable.closestMapped` with the target, count and filters bound.
 */
export type ClosestPeers = (
  make: (node: RoutingNode) => Uint8Array,
  memo: RecordMemo<Uint8Array> | undefined,
) => Uint8Array[];

export class PeerJsonCache {
  /** Each table contact's Peer bytes, remade when the table says the contact changed. */
  private readonly memo = new RecordMemo<Uint8Array>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private busy = false;

  constructor(private readonly minPerSec = PEER_JSON_CACHE_MIN_PER_SEC) {}

  /** Encodings held. */
  get size(): number {
    return this.memo.size;
  }

  /** Encodings made and reused, for tests and stats. */
  get counters(): { encoded: number; reused: number } {
    return { encoded: this.memo.made, reused: this.memo.reused };
  }

  /**
   * The Peer bytes of the contacts `closest` picks (from a table, or a list encoded afresh).
   * `now` (ms) meters the reply rate: the cache serves only a node answering at least
   * PEER_JSON_CACHE_MIN_PER_SEC; without `now` it always does.
   */
  peers(closest: ClosestPeers | readonly RoutingNode[], now?: number): Uint8Array[] {
    if (typeof closest !== 'function') return closest.map(encodePeerJson);
    return closest(encodePeerJson, now === undefined || this.meter(now) ? this.memo : undefined);
  }

  /** `{"closest":[peer,...]}`: FindNode's reply, and GetValue's when it has no item and some peers. */
  closestReply(closest: ClosestPeers | readonly RoutingNode[], now?: number): Uint8Array {
    return joinClosest(this.peers(closest, now));
  }

  /** Whether the cache is in use, counting this reply: on while the last window was busy enough. */
  private meter(now: number): boolean {
    // A threshold of zero: always on, never emptied (a simulator trading memory for time).
    if (this.minPerSec === 0) return true;
    if (now - this.windowStart >= WINDOW_MS) {
      this.busy = this.inWindow >= this.minPerSec && now - this.windowStart < 2 * WINDOW_MS;
      if (!this.busy) this.memo.clear();
      this.windowStart = now;
      this.inWindow = 0;
    }
    this.inWindow++;
    return this.busy || this.inWindow >= this.minPerSec;
  }
}

/** `{"closest":[...]}` around Peer objects already encoded. */
export function joinClosest(parts: readonly Uint8Array[]): Uint8Array {
  let length = OPEN.length + CLOSE.length + Math.max(0, parts.length - 1);
  for (const json of parts) length += json.length;
  // Every byte is written below: no zero fill.
  const out = Buffer.allocUnsafe(length);
  out.set(OPEN, 0);
  let at = OPEN.length;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[at++] = COMMA;
    const json = parts[i] as Uint8Array;
    out.set(json, at);
    at += json.length;
  }
  out.set(CLOSE, at);
  return out;
}
