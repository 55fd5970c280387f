/**
 * Compact encodings from BEP 5 and BEP 32: peers (ip ‖ port) and nodes (id ‖ ip ‖ port), in the
 * v4 (4-byte) and v6 (16-byte) families. Decoders skip entries they cannot use instead of failing
 * the whole message.
 */
import type { Address, Family } from '../transport/address.js';
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from '../transport/ip.js';

export interface CompactNode {
  id: Uint8Array;
  address: Address;
}

const ipLength = (family: Family): number => (family === 4 ? 4 : 16);

/** Write ip ‖ port at offset; false when the host is not of the given family. */
function writeAddress(out: Uint8Array, offset: number, address: Address): boolean {
  const ok =
    address.family === 4 ? ipv4ToBytes(address.host, out, offset) : ipv6ToBytes(address.host, out, offset);
  if (!ok) return false;
  const p = offset + ipLength(address.family);
  out[p] = address.port >> 8;
  out[p + 1] = address.port & 0xff;
  return true;
}

function readAddress(b: Uint8Array, offset: number, family: Family): Address {
  const host = family === 4 ? bytesToIpv4(b, offset) : bytesToIpv6(b, offset);
  const p = offset + ipLength(family);
  return { host, port: ((b[p] as number) << 8) | (b[p + 1] as number), family };
}

/** 6 bytes (v4) or 18 bytes (v6). */
export function encodeCompactAddress(address: Address): Uint8Array | undefined {
  const out = new Uint8Array(ipLength(address.family) + 2);
  return writeAddress(out, 0, address) ? out : undefined;
}

export function decodeCompactAddress(b: Uint8Array): Address | undefined {
  if (b.length === 6) return readAddress(b, 0, 4);
  if (b.length === 18) return readAddress(b, 0, 6);
  return undefined;
}

/** Peers as a list of compact strings, the BEP 5 `values` shape. */
export function encodePeers(peers: readonly Address[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const peer of peers) {
    const bytes = encodeCompactAddress(peer);
    if (bytes) out.push(bytes);
  }
  return out;
}

/** Nodes as one compact string. (Replies pack theirs straight from the routing table.) */
export function encodeNodes(nodes: readonly CompactNode[], family: Family): Uint8Array {
  if (nodes.length === 0) return new Uint8Array(0);
  const idLength = (nodes[0] as CompactNode).id.length;
  const entry = idLength + ipLength(family) + 2;
  const out = new Uint8Array(nodes.length * entry);
  let n = 0;
  for (const node of nodes) {
    if (node.address.family !== family || node.id.length !== idLength) continue;
    out.set(node.id, n * entry);
    if (writeAddress(out, n * entry + idLength, node.address)) n++;
  }
  return n === nodes.length ? out : out.subarray(0, n * entry);
}

/** Decode a `nodes`/`nodes6` string; entries with port 0 are dropped. Undefined when the length is not a multiple. */
export function decodeNodes(b: Uint8Array, idLength: number, family: Family): CompactNode[] | undefined {
  const entry = idLength + ipLength(family) + 2;
  if (b.length % entry !== 0) return undefined;
  const out: CompactNode[] = [];
  for (let off = 0; off < b.length; off += entry) {
    const address = readAddress(b, off + idLength, family);
    if (address.port === 0) continue;
    // Copy the id: it outlives the datagram buffer in routing tables.
    out.push({ id: b.slice(off, off + idLength), address });
  }
  return out;
}
