/**
 * Known nodes placed in XOR space around our id, for the dashboard's map.
 *
 * Radius: log2 of the XOR distance to our id, as a fraction of the id length (0 = our id,
 * 1 = the farthest possible). Nodes sharing a longer prefix with us (deeper buckets) sit nearer
 * the centre, so the picture shows how well the table covers our neighbourhood.
 * Angle: the node's id bits just after the shared prefix, so nodes spread around the circle in
 * id order within each ring instead of piling up.
 */
import { commonPrefixLength, log2Distance } from '../kademlia/id.js';
import type { RoutingTable } from '../kademlia/routing-table.js';
import { toHex } from '../util/bytes.js';

export interface MapNode {
  id: string;
  address: string;
  bucket: number;
  state: 'good' | 'questionable' | 'bad';
  /** 0 (our id) to 1 (farthest). */
  radius: number;
  /** 0 to 1, a fraction of a full turn. */
  angle: number;
  /** Bits in common with our id. */
  prefix: number;
  failures: number;
}

/** Nodes drawn at most (a full table is ~ 160 buckets x 8). */
export const MAX_MAP_NODES = 1_500;

export function xorMap(table: RoutingTable, now: number, max = MAX_MAP_NODES): MapNode[] {
  const bits = table.localId.length * 8;
  const out: MapNode[] = [];
  for (const node of table.nodes()) {
    if (out.length >= max) break;
    const prefix = commonPrefixLength(node.id, table.localId);
    out.push({
      id: toHex(node.id),
      address: `${node.address.host}:${node.address.port}`,
      bucket: table.bucketIndex(node.id),
      state: table.state(node, now),
      radius: log2Distance(node.id, table.localId) / bits,
      angle: fractionAfter(node.id, prefix + 1),
      prefix,
      failures: node.failures,
    });
  }
  return out;
}

/** The 24 bits starting at bit `start` (big-endian), as a fraction in [0, 1). */
function fractionAfter(bytes: Uint8Array, start: number): number {
  let value = 0;
  for (let b = 0; b < 24; b++) {
    const bit = start + b;
    const byte = bytes[bit >> 3];
    const v = byte === undefined ? 0 : (byte >> (7 - (bit & 7))) & 1;
    value = value * 2 + v;
  }
  return value / 2 ** 24;
}
