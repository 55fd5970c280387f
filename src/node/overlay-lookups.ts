/**
 * The overlay node's lookups: a disjoint GetValue or FindNode lookup (S/Kademlia §4.4) over the
 * routing table, each query through the membership rules (an answer admits, a failure counts),
 * and the store of a signed item on the closest nodes a lookup found.
 */
import { setMaxListeners } from 'node:events';
import { disjointLookup } from '../kademlia/disjoint.js';
import { asNodeId } from '../kademlia/id.js';
import type { LookupResult } from '../kademlia/lookup.js';
import type { RoutingTable } from '../kademlia/routing-table.js';
import type { OverlayClient, OverlayContact } from '../protocols/overlay/client.js';
import type { MutableItem } from '../protocols/overlay/item.js';
import type { OverlayStore } from '../protocols/overlay/store.js';
import type { Clock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';
import type { EventBus } from '../util/events.js';
import type { OverlayEvents } from './overlay-events.js';
import type { OverlayMembership } from './overlay-membership.js';
import type { OverlayPutResult } from './overlay-options.js';
import type { PublisherSeqs } from './overlay-seq.js';

/** What a GetValue reply brings a lookup (FindNode replies bring only nodes). */
export interface GetReply {
  item?: MutableItem;
}

export interface LookupParts {
  k: number;
  /** Lookup parallelism now (resource budgets shrink it). */
  alpha: () => number;
  /** Disjoint paths of a value lookup (refreshes pass 1). */
  paths: number;
  table: RoutingTable;
  client: OverlayClient;
  members: OverlayMembership;
  store: OverlayStore;
  seqs: PublisherSeqs;
  clock: Clock;
  events: EventBus<OverlayEvents>;
  /** Queries in flight once a lookup converged (kademlia/lookup.ts) now; undefined: alpha. */
  convergedWidth: () => number | undefined;
  /** When a query to this contact stops holding a lookup slot, ms; undefined: never. */
  slowAfterMs?: ((contact: OverlayContact) => number) | undefined;
}

export class OverlayLookups {
  constructor(readonly parts: LookupParts) {}

  /** A disjoint GetValue lookup (it returns both the item and the closest nodes). */
  async run(
    target: Uint8Array,
    kind: 'get_value' | 'find_node',
    signal: AbortSignal,
    onItem?: (contact: OverlayContact, reply: GetReply) => void,
    paths = this.parts.paths,
  ): Promise<LookupResult<GetReply>> {
    const seeds = this.parts.table.closest(target, this.parts.k * 2) as OverlayContact[];
    if (seeds.length === 0) {
      throw new KadmiumError(
        'NO_NODES',
        'the overlay routing table is empty; start() with reachable bootstrap nodes',
      );
    }
    const started = this.parts.clock.now();
    // Every query of the lookup listens on the call's signal.
    setMaxListeners(0, signal);
    const result = await disjointLookup<GetReply>({
      target,
      seeds,
      k: this.parts.k,
      alpha: this.parts.alpha(),
      convergedWidth: this.parts.convergedWidth(),
      paths,
      signal,
      query: async (contact, onSlow) => {
        const c = contact as OverlayContact;
        const slowAfter = this.parts.slowAfterMs?.(c);
        const slow = slowAfter === undefined ? undefined : this.parts.clock.setTimeout(onSlow, slowAfter);
        try {
          if (kind === 'find_node') {
            const reply = await this.parts.members.ask(c, 'find_node', { target: asNodeId(target) }, signal);
            return { nodes: this.parts.client.contactsOf(reply.closest), result: {} };
          }
          const reply = await this.parts.members.ask(c, 'get_value', { target: asNodeId(target) }, signal);
          return {
            nodes: this.parts.client.contactsOf(reply.closest),
            result: reply.item ? { item: reply.item } : {},
          };
        } finally {
          slow?.cancel();
        }
      },
      onReply: (contact, result) => onItem?.(contact as OverlayContact, result),
    });
    this.parts.events.emit('overlay:lookup', {
      kind,
      target,
      durationMs: this.parts.clock.now() - started,
      queried: result.queried,
      responded: result.responded,
      hops: result.hops,
    });
    return result;
  }

  /** Send the item to the closest nodes found; store it here too when we are among them. */
  async storeAt(
    item: MutableItem,
    target: Uint8Array,
    found: LookupResult<GetReply>,
    signal: AbortSignal,
    cas: bigint | undefined,
  ): Promise<OverlayPutResult> {
    const now = this.parts.clock.now();
    const storedLocally =
      this.parts.members.responsible(target) && (await this.parts.store.put(item, now, { cas })).ok;
    const targets = found.closest.map((c) => c.contact as OverlayContact);
    const answers = await Promise.allSettled(
      targets.map((c) =>
        this.parts.client.request(c, 'put_value', { item, ...(cas !== undefined ? { cas } : {}) }, signal),
      ),
    );
    const stored = answers.filter((a) => a.status === 'fulfilled' && a.value.stored).length;
    await this.parts.seqs.used(target, item.seq);
    this.parts.events.emit('overlay:put', { target, seq: item.seq, stored, asked: targets.length });
    if (stored === 0 && targets.length > 0) {
      const reason = answers.find((a) => a.status === 'fulfilled' && !a.value.stored);
      const why = reason?.status === 'fulfilled' ? reason.value.error : 'no node answered';
      throw new KadmiumError('PUT_REJECTED', `no node stored the item: ${why ?? 'unknown'}`);
    }
    return { target, seq: item.seq, stored, asked: targets.length, storedLocally };
  }
}
