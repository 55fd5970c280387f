/**
 * Where a routing table's addresses are: which contact holds an address, how many contacts share
 * an IP, how many replacements wait at an address. A table asks on every contact it hears of (one
 * node per address, one per IP, an address answering under a new id), and scanning every record
 * for that cost more than the rest of `RoutingTable.observe` once far buckets grew wide: at 100,000
 * nodes a table holds about 320 contacts with wide buckets and 560 with deep ones.
 *
 * Keys are numbers for IPv4 (the 32-bit address; times 65,536 plus the port for an address) and
 * short strings for IPv6, so the two families never meet in one map.
 */
import type { Family } from '../transport/address.js';

export type AddressKey = number | string;

/** The key of the IP in `bytes` at `offset` (16 bytes; an IPv4 address in the first 4). */
export function ipKeyOf(bytes: Uint8Array, offset: number, family: Family): AddressKey {
  if (family === 4) {
    // A signed 32-bit value: V8 keeps it unboxed (a small integer), so a key costs no allocation.
    return (
      ((bytes[offset] as number) << 24) |
      ((bytes[offset + 1] as number) << 16) |
      ((bytes[offset + 2] as number) << 8) |
      (bytes[offset + 3] as number)
    );
  }
  let key = '';
  for (let i = 0; i < 16; i += 2)
    key += String.fromCharCode(((bytes[offset + i] as number) << 8) | (bytes[offset + i + 1] as number));
  return key;
}

/** The key of an IP key and a port together. */
export function addressKeyOf(ip: AddressKey, port: number): AddressKey {
  return typeof ip === 'number' ? ip * 65_536 + port : ip + String.fromCharCode(port);
}

function bump(map: Map<AddressKey, number>, key: AddressKey, by: 1 | -1): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

export class AddressIndex {
  /**
   * IP -> the contact record there, or the records when several share it (only where one node
   * per IP is off or exempt). Keyed by IP, not address, so the usual key is a small integer: a
   * table of 560 contacts then holds 560 plain entries, not 560 boxed numbers.
   */
  private readonly byIp = new Map<AddressKey, number | number[]>();
  /** Address -> replacements waiting at it, over all buckets (few: only full buckets keep any). */
  private readonly spares = new Map<AddressKey, number>();

  /** `portOf` reads a record's port (the index keeps no copy of what the table's slab holds). */
  constructor(private readonly portOf: (record: number) => number) {}

  hold(ip: AddressKey, record: number): void {
    const there = this.byIp.get(ip);
    if (there === undefined) this.byIp.set(ip, record);
    else if (typeof there === 'number') this.byIp.set(ip, [there, record]);
    else there.push(record);
  }

  drop(ip: AddressKey, record: number): void {
    const there = this.byIp.get(ip);
    if (there === record) this.byIp.delete(ip);
    else if (Array.isArray(there)) {
      const rest = there.filter((r) => r !== record);
      this.byIp.set(ip, rest.length === 1 ? (rest[0] as number) : rest);
    }
  }

  /** The contact record at this address, or -1. */
  heldAt(ip: AddressKey, port: number): number {
    const there = this.byIp.get(ip);
    if (there === undefined) return -1;
    if (typeof there === 'number') return this.portOf(there) === port ? there : -1;
    return there.find((r) => this.portOf(r) === port) ?? -1;
  }

  holdsIp(ip: AddressKey): boolean {
    return this.byIp.has(ip);
  }

  addSpare(ip: AddressKey, port: number): void {
    bump(this.spares, addressKeyOf(ip, port), 1);
  }

  dropSpare(ip: AddressKey, port: number): void {
    bump(this.spares, addressKeyOf(ip, port), -1);
  }

  hasSpare(ip: AddressKey, port: number): boolean {
    return this.spares.has(addressKeyOf(ip, port));
  }
}
