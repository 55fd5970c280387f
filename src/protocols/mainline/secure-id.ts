/**
 * BEP 42 secure node ids: the first 21 bits of a node id must match CRC32C of the node's masked
 * external IP (with a 3-bit random `r` folded in), and the id's last byte carries that `r`.
 *
 * Local addresses (loopback, private, link-local) are exempt: their ids cannot be checked.
 */
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import { isLocalAddress } from '../../transport/address.js';
import type { Random } from '../../util/random.js';
import { ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';
import { crc32c } from './crc32c.js';
import { ID_LENGTH } from './messages.js';

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/** How strictly the node applies BEP 42 to others' ids. */
export type SecureIdMode = 'off' | 'prefer' | 'require';

/** The bytes BEP 42 hashes: the first 4 (v4) or 8 (v6) bytes of the IP, masked. */
function maskedIp(host: string): Uint8Array | undefined {
  if (host.includes(':')) {
    const full = ipv6ToBytes(host);
    if (!full) return undefined;
    const out = full.slice(0, 8);
    for (let i = 0; i < 8; i++) out[i] = (out[i] as number) & (V6_MASK[i] as number);
    return out;
  }
  const out = ipv4ToBytes(host);
  if (!out) return undefined;
  for (let i = 0; i < 4; i++) out[i] = (out[i] as number) & (V4_MASK[i] as number);
  return out;
}

/** CRC32C of the masked IP with r (0-7) in the top 3 bits; undefined for text that is not an IP. */
export function secureIdPrefix(host: string, r: number): number | undefined {
  const ip = maskedIp(host);
  if (!ip) return undefined;
  ip[0] = (ip[0] as number) | ((r & 7) << 5);
  return crc32c(ip);
}

/**
 * A node id valid for `host`: 21 bits from the CRC, random elsewhere, `rand` (0-255, random by
 * default) as the last byte. Throws for text that is not an IP.
 */
export function secureNodeId(host: string, random: Random, rand = random.int(256)): NodeId {
  const crc = secureIdPrefix(host, rand & 7);
  if (crc === undefined) throw new TypeError(`not an IP address: ${host}`);
  const id = random.bytes(ID_LENGTH);
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | ((id[2] as number) & 0x07);
  id[ID_LENGTH - 1] = rand & 0xff;
  return asNodeId(id);
}

/** True when the id's first 21 bits match the CRC for this IP and the id's last byte's r. */
export function isSecureId(id: Uint8Array, host: string): boolean {
  if (id.length !== ID_LENGTH) return false;
  const crc = secureIdPrefix(host, (id[ID_LENGTH - 1] as number) & 7);
  if (crc === undefined) return false;
  return (
    id[0] === ((crc >>> 24) & 0xff) &&
    id[1] === ((crc >>> 16) & 0xff) &&
    ((id[2] as number) & 0xf8) === ((crc >>> 8) & 0xf8)
  );
}

/** BEP 42's exemption: ids of nodes on local addresses are not checked. */
export function isExemptAddress(host: string): boolean {
  return isLocalAddress(host);
}

/** Compliant or exempt: the predicate routing tables and lookups prefer. */
export function isTrustedId(id: Uint8Array, host: string): boolean {
  return isExemptAddress(host) || isSecureId(id, host);
}
