/**
 * The overlay node's lookups: a disjoint GetValue or FindNode lookup (S/Kademlia §4.4) over the
 * routing table, each query through the membership rules (an answer admits, a failure counts),
 * and the store of a signed item on the closest nodes a lookup found.
 */
import { setMaxListeners } from 'node:events';
import { disjointLookup } from '../kademlia/disjoint.js';
import { asNodeId } from '../kademlia/id.js';
import type { LookupResult } from '../kademlia/lookup.js';
import { LookupJudge } from '../kademlia/lookup-judge.js';
import type { Reputation } from '../kademlia/reputation.js';
import type { RoutingTable } from '../kademlia/routing-table.js';
import type { OverlayClient, OverlayContact } from '../protocols/overlay/client.js';
import type { MutableItem } from '../protocols/overlay/item.js';
import type { OverlayStore } from '../protocols/overlay/store.js';
import type { Clock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';
import { RemoteRpcError } from '../rpc/stream-rpc.js';
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
  /** Per-contact reputation (OverlayNodeOptions.reputation), or undefined when off. */
  reputation?: Reputation | undefined;
}

/**
 * Failures that say nothing about whether a referred contact exists: it answered (an error reply,
 * a malformed body), we did not ask (distrusted, backing off), or the lookup ended.
 */
const NOT_DEAD_CODES: ReadonlySet<string> = new Set([
  'DISTRUSTED',
  'CONTACT_BACKING_OFF',
  'ABORTED',
  'CLOSED',
  'BAD_REPLY',
]);

/**
 * Over streams a contact that does not exist shows itself at the dial: refused, silent, or
 * another key at its address (the referrer named a key the node there cannot prove).
 */
function deadOnFailure(err: unknown): boolean {
  if (err instanceof RemoteRpcError) return false;
  return !(err instanceof KadmiumError && NOT_DEAD_CODES.has(err.code));
}

export class OverlayLookups {
  constructor(readonly parts: LookupParts) {}

  /**
   * A judge for one lookup when the node keeps a reputation: pass it to `run`, and tell it the
   * lies only the caller can see (an item that fails verification, a stale one).
   */
  judge(): LookupJudge | undefined {
    const { reputation, table, events } = this.parts;
    if (!reputation) return undefined;
    return new LookupJudge(
      reputation,
      (c) => {
        // A contact we no longer trust is neither kept nor handed out to others.
        if (table.remove(c.id)) events.emit('overlay:evicted', { id: c.id, address: c.address });
      },
      deadOnFailure,
    );
  }

  /**
   * A disjoint GetValue lookup (it returns both the item and the closest nodes). `onItem` returns
   * true for a reply whose item verified: with a judge, nodes closer than the farthest such one
   * that answered without it withheld it.
   */
  async run(
    target: Uint8Array,
    kind: 'get_value' | 'find_node',
    signal: AbortSignal,
    onItem?: (contact: OverlayContact, reply: GetReply) => boolean | void,
    paths = this.parts.paths,
    judge = this.judge(),
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
    const verified = new WeakSet<GetReply>();
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
        judge?.admit(c);
        const slowAfter = this.parts.slowAfterMs?.(c);
        const whenSlow = judge ? judge.slow(c, onSlow) : onSlow;
        const slow = slowAfter === undefined ? undefined : this.parts.clock.setTimeout(whenSlow, slowAfter);
        try {
          const method = kind === 'find_node' ? 'find_node' : 'get_value';
          const reply = await this.parts.members.ask(c, method, { target: asNodeId(target) }, signal);
          const nodes = this.parts.client.contactsOf(reply.closest);
          judge?.answered(c, nodes);
          const item = 'item' in reply ? reply.item : undefined;
          return { nodes, result: item ? { item } : {} };
        } finally {
          slow?.cancel();
        }
      },
      onReply: (contact, result) => {
        if (onItem?.(contact as OverlayContact, result) === true) verified.add(result);
      },
      onFailure: judge ? (contact, err) => judge.failed(contact, err) : undefined,
    });
    if (judge) {
      judge.settle();
      if (kind === 'get_value') judge.withheld(target, result, (reply) => verified.has(reply));
    }
    this.parts.events.emit('overlay:lookup', {
      kind,
      target,
      durationMs: this.parts.clock.now() - started,
      queried: result.queried,
      responded: result.responded,
      failed: result.failed,
      unanswered: result.unanswered,
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
