/**
 * FindNode and GetValue replies written straight from routing-table contacts, each contact's
 * Skywire Peer object (`{"id":[32 numbers],"pk","last_seen","addr"}`, about 250 bytes) encoded
 * once and reused while the contact is unchanged.
 *
 * Why: a node answers FindNode with the same few hundred contacts over and over, and encoding a
 * Peer (32-number id array, hex key, an RFC 3339 time through `Date`) cost ~2 µs each, 20 per
 * reply: most of the server's time per FindNode. The bytes are exactly what `encodeResponse`
 * writes for the same peers (the tests compare them), so the wire does not change.
 */
import type { RoutingNode } from '../../kademlia/routing-table.js';
import { bytesEqual } from '../../util/bytes.js';
import { timestampFromMs } from './fields.js';
import { type OverlayPeer, peerJson } from './messages.js';

/** Contacts whose encoded Peer is kept; a full table holds a few hundred. Oldest entry goes first. */
export const PEER_JSON_CACHE_ENTRIES = 1_024;
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

interface Entry {
  /** The contact's id; its key derives from it (the table admits no contact whose does not). */
  readonly id: Uint8Array;
  readonly lastResponseAt: number;
  readonly host: string;
  readonly port: number;
  readonly json: Uint8Array;
}

export class PeerJsonCache {
  /** Keyed by the id's first 32 bits (ids are hashes); a hit is checked against every input. */
  private readonly entries = new Map<number, Entry>();
  /** Encodings made and reused, for tests and stats. */
  readonly counters = { encoded: 0, reused: 0 };
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private busy = false;

  constructor(
    private readonly maxEntries = PEER_JSON_CACHE_ENTRIES,
    private readonly minPerSec = PEER_JSON_CACHE_MIN_PER_SEC,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The contact's Peer JSON bytes. */
  peer(node: RoutingNode): Uint8Array {
    const id = node.id;
    const slot =
      (((id[0] as number) << 24) |
        ((id[1] as number) << 16) |
        ((id[2] as number) << 8) |
        (id[3] as number)) >>>
      0;
    const hit = this.entries.get(slot);
    if (
      hit !== undefined &&
      hit.lastResponseAt === node.lastResponseAt &&
      hit.port === node.address.port &&
      hit.host === node.address.host &&
      bytesEqual(hit.id, id)
    ) {
      this.counters.reused++;
      return hit.json;
    }
    this.counters.encoded++;
    const json = encoder.encode(JSON.stringify(peerJson(overlayPeerOf(node))));
    if (hit === undefined && this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as number);
    }
    this.entries.set(slot, {
      id,
      lastResponseAt: node.lastResponseAt,
      host: node.address.host,
      port: node.address.port,
      json,
    });
    return json;
  }

  /**
   * `{"closest":[peer,...]}`: FindNode's reply, and GetValue's when it has no item and some peers.
   * `now` (ms) meters the reply rate: the cache serves only a node answering at least
   * PEER_JSON_CACHE_MIN_PER_SEC; without `now` it always does.
   */
  closestReply(nodes: readonly RoutingNode[], now?: number): Uint8Array {
    const cached = now === undefined || this.meter(now);
    const parts: Uint8Array[] = new Array<Uint8Array>(nodes.length);
    let length = OPEN.length + CLOSE.length + Math.max(0, nodes.length - 1);
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i] as RoutingNode;
      const json = cached ? this.peer(node) : encoder.encode(JSON.stringify(peerJson(overlayPeerOf(node))));
      parts[i] = json;
      length += json.length;
    }
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

  /** Whether the cache is in use, counting this reply: on while the last window was busy enough. */
  private meter(now: number): boolean {
    if (now - this.windowStart >= WINDOW_MS) {
      this.busy = this.inWindow >= this.minPerSec && now - this.windowStart < 2 * WINDOW_MS;
      if (!this.busy) this.entries.clear();
      this.windowStart = now;
      this.inWindow = 0;
    }
    this.inWindow++;
    return this.busy || this.inWindow >= this.minPerSec;
  }
}
