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
export const PEER_JSON_CACHE_ENTRIES = 4_096;

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
  readonly id: Uint8Array;
  readonly key: Uint8Array;
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

  constructor(private readonly maxEntries = PEER_JSON_CACHE_ENTRIES) {}

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
    const key = node.key as Uint8Array;
    if (
      hit !== undefined &&
      hit.lastResponseAt === node.lastResponseAt &&
      hit.port === node.address.port &&
      hit.host === node.address.host &&
      bytesEqual(hit.id, id) &&
      bytesEqual(hit.key, key)
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
      key,
      lastResponseAt: node.lastResponseAt,
      host: node.address.host,
      port: node.address.port,
      json,
    });
    return json;
  }

  /** `{"closest":[peer,...]}`: FindNode's reply, and GetValue's when it has no item and some peers. */
  closestReply(nodes: readonly RoutingNode[]): Uint8Array {
    const parts: Uint8Array[] = new Array<Uint8Array>(nodes.length);
    let length = OPEN.length + CLOSE.length + Math.max(0, nodes.length - 1);
    for (let i = 0; i < nodes.length; i++) {
      const json = this.peer(nodes[i] as RoutingNode);
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
}
