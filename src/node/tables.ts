/**
 * BEP 32: the node's routing tables, one per address family, behind one API. Contacts go to the
 * table of their family; `closest` answers per family or across both. This is also where the node
 * decides which contacts it keeps (BEP 42 `accept`) and reports membership changes as events.
 */
import type { NodeId } from '../kademlia/id.js';
import { bytesEqual } from '../util/bytes.js';
import {
  type Contact,
  type ExportedTable,
  NEVER,
  RoutingTable,
  type RoutingTableOptions,
} from '../kademlia/routing-table.js';
import { compareDistance } from '../kademlia/id.js';
import { type Address, addressKey, type Family } from '../transport/address.js';
import { RateLimiter } from '../rpc/rate-limit.js';
import type { EventBus } from '../util/events.js';
import type { DhtEvents } from './events.js';

export interface TablesOptions {
  k: number;
  routing?: RoutingTableOptions | undefined;
  /** Keep a v6 table (a dual-stack or v6 node). */
  v6: boolean;
  /** Contacts allowed in at all (BEP 42 `require`); default all. */
  accept?: ((contact: Contact) => boolean) | undefined;
  /** Contacts favoured in full buckets (BEP 42 `prefer`). */
  prefer?: ((contact: Contact) => boolean) | undefined;
}

export interface TablesHooks {
  events: EventBus<DhtEvents>;
  /**
   * Ping a node (BEP 5 full-bucket rule, a newcomer); the reply or timeout feeds back in through
   * the client's hooks. Resolves to the reply (its `id`), or undefined when there is no client.
   */
  ping(address: Address): Promise<{ id: Uint8Array } | undefined>;
}

/** Questionable nodes pinged at once; more wait for the next full-bucket event. */
const MAX_PINGING = 64;
/**
 * Pings sent to unknown queriers, per second and at once. Every query from an unknown address
 * could prompt one, so this is what keeps a query flood from becoming a ping flood; the table
 * fills mostly from our own lookups, which need no ping.
 */
export const QUERIER_PINGS_PER_S = 16;
export const QUERIER_PING_BURST = 32;

export class NodeTables {
  readonly v4: RoutingTable;
  readonly v6: RoutingTable | undefined;
  private readonly pinging = new Set<string>();
  /** Contacts evicted for failing to answer, ever (the refresh pacer's churn signal). */
  evictions = 0;
  private readonly querierPings = new RateLimiter({
    perSecond: QUERIER_PINGS_PER_S,
    burst: QUERIER_PING_BURST,
    maxTracked: 1,
  });

  constructor(
    readonly id: NodeId,
    private readonly options: TablesOptions,
    private readonly hooks: TablesHooks,
    now: number,
  ) {
    const tableOptions = { k: options.k, ...options.routing, prefer: options.prefer };
    this.v4 = new RoutingTable(id, tableOptions, now);
    this.v6 = options.v6 ? new RoutingTable(id, tableOptions, now) : undefined;
  }

  table(family: Family): RoutingTable | undefined {
    return family === 4 ? this.v4 : this.v6;
  }

  get size(): number {
    return this.v4.size + (this.v6?.size ?? 0);
  }

  get bucketCount(): number {
    return this.v4.bucketCount + (this.v6?.bucketCount ?? 0);
  }

  *nodes(): IterableIterator<Contact> {
    yield* this.v4.nodes();
    if (this.v6) yield* this.v6.nodes();
  }

  /** The n closest to target in one family, or across both (nearest first, up to n). */
  closest(target: Uint8Array, n: number, family?: Family): Contact[] {
    if (family) return this.table(family)?.closest(target, n) ?? [];
    const all = [...this.v4.closest(target, n), ...(this.v6?.closest(target, n) ?? [])];
    return all.sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n);
  }

  /** A lookup went through this target's range: its buckets are fresh. */
  touch(target: Uint8Array, now: number): void {
    for (const t of [this.v4, this.v6]) t?.touchBucket(t.bucketIndex(target), now);
  }

  observe(contact: Contact, responded: boolean, now: number): void {
    const table = this.table(contact.address.family);
    if (!table) return;
    if (this.options.accept && !this.options.accept(contact)) return;
    const result = table.observe(contact, responded, now);
    const { events } = this.hooks;
    if (result.action === 'added') {
      if (result.replaced) {
        const r = result.replaced;
        events.emit('node:evicted', { id: r.id, address: r.address, reason: 'bad' });
      }
      if (events.has('node:added'))
        events.emit('node:added', { id: contact.id, address: contact.address, bucket: result.bucket });
      if (!responded) this.pingNode(contact);
    } else if (result.action === 'cached' && result.ping) {
      this.pingNode(result.ping);
    }
  }

  /**
   * A contact sent us a query. A query proves nothing (the sender need not even receive what we
   * send back), so it never puts a new contact in the table: a known contact at the same address
   * is marked as having queried us, an unknown one at most gets a ping (when its bucket holds
   * fewer than k, within QUERIER_PINGS_PER_S), and only its reply, through `observe(contact,
   * true)`, admits it.
   * `flooding` senders (the rate limit drops their queries) get nothing.
   */
  queried(contact: Contact, flooding: boolean, now: number): void {
    if (flooding) return;
    const table = this.table(contact.address.family);
    if (!table) return;
    if (this.options.accept && !this.options.accept(contact)) return;
    const known = table.get(contact.id);
    if (known) {
      // Another address claiming a known id is refused by observe (an id is not proof of identity).
      table.observe(contact, false, now);
      return;
    }
    // Another id at an address we hold: the node there may have changed its id (a restart, BEP 42
    // once it learned its address), or the query's source is forged. A query proves neither, so
    // check what we hold: ping it as the id we know. Answered as that id, nothing changes; as
    // another, the old record is gone (the table drops it) and whoever is there now joins like
    // any newcomer, by answering a ping that expects its id. (The address index answers in one
    // look where one node per IP holds; only exempt local addresses share an IP.)
    const held = table.getByAddress(contact.address);
    // A newcomer is pinged only when its bucket is short of k contacts. In a full bucket its
    // reply would at most wait as a replacement or displace a contact we verified already (BEP 5
    // turns such a querier away); a wide bucket's places beyond k fill from our own lookups'
    // answers, which cost no ping. Most queriers meet such a bucket, and pinging them made each
    // of our lookups cost every node it asked a ping and a reply (issue 15: 22 -> 52 datagrams a
    // get_peers on the 500-node bench).
    if (!held && !table.shortOf(contact.id)) return;
    if (!this.querierPings.allow('', now)) return;
    this.pingNode(held ?? contact);
  }

  /**
   * Remove every contact whose address maps to `key` under `keyOf` (the rate limiter's source
   * key): a source that floods us is not one to hand out to others. Returns how many went.
   */
  forgetSource(key: string, keyOf: (host: string) => string): number {
    let removed = 0;
    for (const t of [this.v4, this.v6]) {
      if (!t) continue;
      const gone = [...t.nodes()].filter((n) => keyOf(n.address.host) === key);
      for (const n of gone) {
        if (!t.remove(n.id)) continue;
        removed++;
        this.hooks.events.emit('node:evicted', { id: n.id, address: n.address, reason: 'bad' });
      }
    }
    return removed;
  }

  /** Remove the contact `id` if the table holds it at `address`. */
  drop(id: Uint8Array, address: Address): void {
    const table = this.table(address.family);
    const node = table?.get(id);
    if (!table || !node || addressKey(node.address) !== addressKey(address)) return;
    table.remove(id);
    this.hooks.events.emit('node:evicted', { id: node.id, address: node.address, reason: 'bad' });
  }

  /** A query to `to` timed out or got nonsense back. */
  failed(to: Address): void {
    const table = this.table(to.family);
    const node = table?.getByAddress(to);
    if (!table || !node) return;
    const outcome = table.failed(node.id);
    if (!outcome) return;
    this.evictions++;
    const { events } = this.hooks;
    events.emit('node:evicted', {
      id: outcome.removed.id,
      address: outcome.removed.address,
      reason: 'failed',
    });
    if (outcome.promoted) {
      const p = outcome.promoted;
      events.emit('node:added', { id: p.id, address: p.address, bucket: table.bucketIndex(p.id) });
    }
  }

  /** Buckets (but each table's deepest) holding fewer than K nodes, as (family, index) pairs. */
  sparseBuckets(now: number): { family: Family; index: number }[] {
    const out: { family: Family; index: number }[] = [];
    for (const [family, t] of [
      [4, this.v4],
      [6, this.v6],
    ] as const) {
      if (!t) continue;
      for (const b of t.describe(now))
        if (b.index < t.bucketCount - 1 && b.nodes < this.options.k) out.push({ family, index: b.index });
    }
    return out;
  }

  /** Buckets idle for the refresh interval, as (family, index) pairs. */
  staleBuckets(now: number, idleMs?: number): { family: Family; index: number }[] {
    const out: { family: Family; index: number }[] = [];
    for (const index of this.v4.staleBuckets(now, idleMs)) out.push({ family: 4, index });
    for (const index of this.v6?.staleBuckets(now, idleMs) ?? []) out.push({ family: 6, index });
    return out;
  }

  export(toHex: (b: Uint8Array) => string): ExportedTable {
    const v4 = this.v4.export(toHex);
    if (this.v6) v4.nodes.push(...this.v6.export(toHex).nodes);
    return v4;
  }

  /** The same nodes under a new id (BEP 42 re-derivation): they re-sort into the new buckets. */
  rebuild(id: NodeId, now: number): NodeTables {
    const next = new NodeTables(id, this.options, this.hooks, now);
    for (const t of [this.v4, this.v6]) {
      if (!t) continue;
      for (const n of t.nodes()) {
        const target = next.table(n.address.family) as RoutingTable;
        target.observe({ id: n.id, address: n.address }, n.lastResponseAt !== NEVER, now);
      }
    }
    return next;
  }

  /**
   * Ping a node whose state is in doubt: a newcomer that only queried us, or (BEP 5) a
   * questionable node in a full bucket, whose silence makes room for a cached replacement.
   */
  private pingNode(expected: Contact): void {
    const { address } = expected;
    const key = addressKey(address);
    if (this.pinging.has(key) || this.pinging.size >= MAX_PINGING) return;
    this.pinging.add(key);
    this.hooks
      .ping(address)
      .then((reply) => {
        if (!reply || bytesEqual(reply.id, expected.id)) return;
        // Another node answers there than the one we pinged (a referral to a stale or made-up
        // id, a port now used by another network): as after a lookup's query, the contact we
        // expected is gone, and the answer, which the table took as a rename, admits nobody.
        // A node that changed its id gets in by querying us under its new id: the ping that
        // prompts then expects, and finds, that id.
        this.drop(reply.id, address);
      })
      .catch(() => undefined)
      .finally(() => this.pinging.delete(key));
  }
}
