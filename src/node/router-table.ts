/**
 * A bootstrap router's table: 2^shardBits ordinary routing tables, table s centred on an id whose
 * first shardBits bits are s. A contact goes to the table of its own first bits, where it lands
 * in that table's deep (fine-grained) buckets, so the router keeps many contacts in every region
 * of the keyspace, where one node's table keeps many only near its own id. Answering a query
 * reads one table (the target's), rarely its neighbours: the cost per query is the same as a
 * normal node's, however large the whole table grows.
 */
import { asNodeId, type NodeId } from '../kademlia/id.js';
import {
  type ClosestOptions,
  type Contact,
  type ObserveResult,
  type RoutingNode,
  RoutingTable,
  type RoutingTableOptions,
} from '../kademlia/routing-table.js';
import type { Family } from '../transport/address.js';
import { InvalidArgumentError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { Slab } from '../util/slab.js';

/** 256 tables: with K = 8, about 20,000 contacts in a network of millions (docs/ROUTER.md). */
export const DEFAULT_SHARD_BITS = 8;
/** 4,096 tables: beyond this a table per region holds too few contacts to be worth its overhead. */
export const MAX_SHARD_BITS = 12;

export class ShardedTable {
  readonly shards: RoutingTable[];
  private readonly shift: number;

  constructor(
    idLength: number,
    readonly shardBits: number,
    options: RoutingTableOptions,
    random: Random,
    now: number,
  ) {
    if (!Number.isInteger(shardBits) || shardBits < 0 || shardBits > MAX_SHARD_BITS)
      throw new InvalidArgumentError(
        `shardBits must be an integer from 0 to ${MAX_SHARD_BITS}, got ${shardBits}`,
      );
    this.shift = 16 - shardBits;
    this.shards = [];
    for (let s = 0; s < 1 << shardBits; s++) {
      this.shards.push(new RoutingTable(withPrefix(random.bytes(idLength), s, shardBits), options, now));
    }
  }

  /** The table for ids starting like this one. */
  shardOf(id: Uint8Array): number {
    if (this.shardBits === 0) return 0;
    return ((((id[0] as number) << 8) | (id[1] as number)) >> this.shift) & ((1 << this.shardBits) - 1);
  }

  table(id: Uint8Array): RoutingTable {
    return this.shards[this.shardOf(id)] as RoutingTable;
  }

  get size(): number {
    let n = 0;
    for (const t of this.shards) n += t.size;
    return n;
  }

  observe(contact: Contact, responded: boolean, now: number): ObserveResult {
    return this.table(contact.id).observe(contact, responded, now);
  }

  failed(id: Uint8Array): void {
    this.table(id).failed(id);
  }

  get(id: Uint8Array): RoutingNode | undefined {
    return this.table(id).get(id);
  }

  /**
   * Tables in order of distance from target: the XOR of a table's index with the target's first
   * bits is the first bits of every distance in it, so visiting s ^ 0, s ^ 1, s ^ 2, ... visits
   * the tables nearest first, and their answers concatenate in distance order.
   */
  private *near(target: Uint8Array): IterableIterator<RoutingTable> {
    const s = this.shardOf(target);
    for (let j = 0; j < this.shards.length; j++) yield this.shards[s ^ j] as RoutingTable;
  }

  closest(target: Uint8Array, n: number, options: ClosestOptions = {}): RoutingNode[] {
    const out: RoutingNode[] = [];
    for (const t of this.near(target)) {
      out.push(...t.closest(target, n - out.length, options));
      if (out.length >= n) break;
    }
    return out;
  }

  closestPacked(
    target: Uint8Array,
    n: number,
    options: ClosestOptions & { family: Family },
    into?: Slab,
  ): Uint8Array {
    const size = target.length + (options.family === 4 ? 4 : 16) + 2;
    let packed: Uint8Array | undefined;
    for (const t of this.near(target)) {
      const have = packed ? packed.length / size : 0;
      const more = t.closestPacked(target, n - have, options, into);
      packed = packed ? concat(packed, more) : more;
      if (packed.length / size >= n) break;
    }
    return packed ?? new Uint8Array(0);
  }

  /** A random id inside table s's region: a seeding lookup aimed there fills that table. */
  targetIn(s: number, random: Random, idLength: number): NodeId {
    return withPrefix(random.bytes(idLength), s, this.shardBits);
  }
}

/** id with its first `bits` bits replaced by `prefix` (bits <= 16). */
function withPrefix(id: Uint8Array, prefix: number, bits: number): NodeId {
  if (bits > 0) {
    const shift = 16 - bits;
    const mask = ((1 << bits) - 1) << shift;
    const merged = ((((id[0] as number) << 8) | (id[1] as number)) & ~mask) | (prefix << shift);
    id[0] = (merged >> 8) & 0xff;
    id[1] = merged & 0xff;
  }
  return asNodeId(id);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
