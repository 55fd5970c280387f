/**
 * A bounded map from address to a few numbers, the least recently touched forgotten first, for
 * what a node remembers about hundreds of addresses at once (RTTs, who queried us lately).
 *
 * The numbers live in one Float64Array, a fixed run of `fields` per slot, and the map holds only
 * key -> slot. Keys are numbers for IPv4 (the 32-bit address times 65,536 plus the port) and the
 * address text for IPv6. An entry costs about 70 bytes where an object with two doubles under a
 * "host:port" string took about 180 (docs/BENCHMARKS.md, Memory).
 */
import { type Address, addressKey } from './address.js';

type Key = number | string;

/** The map key of an address: a number for a dotted-quad IPv4 host, else its text. */
export function slabKey(address: Address): Key {
  if (address.family === 4) {
    const host = address.host;
    let ip = 0;
    let part = 0;
    let dots = 0;
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (c === 46) {
        if (part > 255) return addressKey(address);
        ip = ip * 256 + part;
        part = 0;
        dots++;
      } else if (c >= 48 && c <= 57) part = part * 10 + (c - 48);
      else return addressKey(address);
    }
    if (dots === 3 && part < 256) return (ip * 256 + part) * 65_536 + address.port;
  }
  return addressKey(address);
}

const FIRST_SLOTS = 16;

export class AddressSlab {
  private readonly slots = new Map<Key, number>();
  private data: Float64Array;
  /** Slots given back by forgotten entries, reused before new ones. */
  private readonly spare: number[] = [];
  /** Slots ever handed out: the next new one. */
  private used = 0;

  constructor(
    /** Numbers kept per address. */
    readonly fields: number,
    private maxEntries: number,
  ) {
    if (!Number.isInteger(fields) || fields < 1) throw new RangeError(`fields must be >= 1, got ${fields}`);
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
    this.data = new Float64Array(fields * Math.min(FIRST_SLOTS, this.maxEntries));
  }

  get size(): number {
    return this.slots.size;
  }

  /** The slot of `address`, or -1; does not change what is forgotten first. */
  find(address: Address): number {
    return this.slots.get(slabKey(address)) ?? -1;
  }

  /**
   * The slot of `address`, now the most recently touched; a new slot with every field 0 when it
   * was not held (forgetting the least recent beyond the bound).
   */
  touch(address: Address): number {
    const key = slabKey(address);
    const held = this.slots.get(key);
    if (held !== undefined) {
      this.slots.delete(key);
      this.slots.set(key, held);
      return held;
    }
    if (this.slots.size >= this.maxEntries) this.forgetOldest();
    const slot = this.spare.pop() ?? this.newSlot();
    this.data.fill(0, slot * this.fields, (slot + 1) * this.fields);
    this.slots.set(key, slot);
    return slot;
  }

  get(slot: number, field: number): number {
    return this.data[slot * this.fields + field] as number;
  }

  set(slot: number, field: number, value: number): void {
    this.data[slot * this.fields + field] = value;
  }

  /** Keep at most `maxEntries` from now on, forgetting the least recently touched now. */
  limit(maxEntries: number): void {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
    while (this.slots.size > this.maxEntries) this.forgetOldest();
  }

  clear(): void {
    this.slots.clear();
    this.spare.length = 0;
    this.used = 0;
    this.data = new Float64Array(this.fields * Math.min(FIRST_SLOTS, this.maxEntries));
  }

  private forgetOldest(): void {
    const oldest = this.slots.entries().next().value;
    if (oldest === undefined) return;
    this.slots.delete(oldest[0]);
    this.spare.push(oldest[1]);
  }

  private newSlot(): number {
    const needed = (this.used + 1) * this.fields;
    if (needed > this.data.length) {
      const grown = new Float64Array(
        Math.max(needed, Math.min(this.data.length * 2, this.maxEntries * this.fields)),
      );
      grown.set(this.data);
      this.data = grown;
    }
    return this.used++;
  }
}
