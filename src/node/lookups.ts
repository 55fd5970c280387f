/**
 * Lookups on a dual-stack node (BEP 32): one iterative lookup per address family we can reach,
 * in parallel, each fed only contacts of its own family; results are merged nearest first.
 * Announces go to the closest nodes with tokens in each family (BEP 42 `require`: only to nodes
 * whose ids are valid for their IPs).
 */
import { compareDistance, rankLog2Distance } from '../kademlia/id.js';
import { disjointLookup } from '../kademlia/disjoint.js';
import { type LookupOptions, type LookupReply, type LookupResult, lookup } from '../kademlia/lookup.js';
import { LookupJudge } from '../kademlia/lookup-judge.js';
import type { Reputation } from '../kademlia/reputation.js';
import type { ContactBreakers } from '../kademlia/contact-breaker.js';
import type { Contact } from '../kademlia/routing-table.js';
import { BadReplyError, type PeersReply } from '../protocols/mainline/client.js';
import { addressKey } from '../transport/address.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import type { Family } from '../transport/address.js';
import type { Clock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';
import type { EventBus } from '../util/events.js';
import type { DhtEvents, LookupKind } from './events.js';
import type { NodeTables } from './tables.js';

export interface LookupHost {
  readonly id: Uint8Array;
  readonly k: number;
  readonly alpha: number;
  readonly clock: Clock;
  readonly events: EventBus<DhtEvents>;
  tables(): NodeTables;
  /** Families we have a socket for. */
  readonly families: readonly Family[];
  /** BEP 42 preference for lookup termination; undefined when off. */
  readonly prefer: ((c: Contact) => boolean) | undefined;
  /** Disjoint paths for the lookups that find values and store them (1 or absent: the plain lookup). */
  readonly lookupPaths?: number;
  /** Queries in flight once a lookup converged (kademlia/lookup.ts); undefined: alpha. */
  readonly convergedWidth?: number | undefined;
  /** Per-contact reputation, when the node keeps one. */
  readonly reputation?: Reputation | undefined;
  /** Per-contact breakers: a contact backing off after repeated timeouts is not queried. */
  readonly contactBreakers?: ContactBreakers | undefined;
}

/** The lookups that run over disjoint paths when the node asks for more than one. */
const DISJOINT_KINDS: ReadonlySet<LookupKind> = new Set<LookupKind>(['get_peers', 'get', 'put', 'announce']);

export type Ask<R> = (contact: Contact, onSlow: () => void) => Promise<R>;

/** Seeds for a lookup: the closest we know in every family we can reach. */
export function seedsFor(host: LookupHost, target: Uint8Array): Contact[] {
  const out: Contact[] = [];
  // d disjoint paths need seeds for each: at least two apiece.
  const n = Math.max(host.k * 2, (host.lookupPaths ?? 1) * 2);
  for (const family of host.families) out.push(...host.tables().closest(target, n, family));
  return out;
}

export async function runLookup<R extends { nodes: Contact[]; id: Uint8Array }>(
  host: LookupHost,
  kind: LookupKind,
  target: Uint8Array,
  seeds: Contact[],
  signal: AbortSignal,
  ask: Ask<R>,
  /** Told about each reply; returns true when it carried a result (peers, an item). */
  onReply?: (reply: R) => boolean | void,
  /** Whether a reply carried the (verified) value sought: reputation counts withheld values. */
  hasValue?: (reply: R) => boolean,
): Promise<LookupResult<R>> {
  const started = host.clock.now();
  const paths = DISJOINT_KINDS.has(kind) ? Math.max(1, host.lookupPaths ?? 1) : 1;
  const judge = host.reputation
    ? new LookupJudge(host.reputation, (c) => host.tables().drop(c.id, c.address))
    : undefined;
  // What a user waits for: the first reply with a result, long before the lookup converges.
  let firstResultMs: number | undefined;
  const told = onReply
    ? (reply: R): void => {
        if (onReply(reply) === true && firstResultMs === undefined)
          firstResultMs = host.clock.now() - started;
      }
    : undefined;
  const groups = host.families
    .map((family) => ({ family, seeds: seeds.filter((s) => s.address.family === family) }))
    .filter((g) => g.seeds.length > 0);
  if (groups.length === 0) {
    throw new KadmiumError(
      'NO_NODES',
      'the routing table is empty: bootstrap first (check --bootstrap and that the routers are reachable)',
    );
  }
  const results = await Promise.all(
    groups.map((g) => {
      const options: LookupOptions<R> = {
        target,
        seeds: g.seeds,
        k: host.k,
        alpha: host.alpha,
        convergedWidth: host.convergedWidth,
        signal,
        prefer: host.prefer,
        query: async (contact, onSlow): Promise<LookupReply<R>> => {
          if (host.contactBreakers?.allow(addressKey(contact.address), host.clock.now()) === false)
            throw new BackingOffError(contact);
          judge?.admit(contact);
          const reply = await ask(contact, judge ? judge.slow(contact, onSlow) : onSlow);
          if (!bytesEqual(reply.id, contact.id)) {
            // Another node now answers at that address (a restart, NAT rebinding, a reused port,
            // a BEP 42 id change): its referrals lead elsewhere, and the contact we knew is gone.
            const err = new BadReplyError(
              `${addressKey(contact.address)} answered as ${toHex(reply.id)}, not ${toHex(contact.id)}`,
            );
            host.tables().failed(contact.address);
            // Nor does the answer admit the newcomer: the client's reply hook has just offered
            // it to the table, where the address is free when the old contact was never ours
            // (a referral). It joins like any node, by answering a query of ours as itself.
            host.tables().drop(reply.id, contact.address);
            throw err;
          }
          // Each family's lookup follows only its own family's referrals. A referral to ourselves
          // is kept, as before: when we are among the closest, we store (announce, put) too.
          const nodes = reply.nodes.filter((n) => n.address.family === g.family);
          judge?.answered(contact, nodes);
          return { nodes, result: reply };
        },
        onReply: told ? (_contact, reply) => told(reply) : undefined,
        onFailure: judge ? (contact, err) => judge.failed(contact, err) : undefined,
      };
      return paths > 1 ? disjointLookup<R>({ ...options, paths }) : lookup<R>(options);
    }),
  );
  const result = mergeResults(target, results);
  judge?.settle();
  if (judge && hasValue) judge.withheld(target, result, hasValue);
  host.tables().touch(target, host.clock.now());
  if (kind !== 'announce') {
    host.events.emit('lookup:finished', {
      kind,
      target,
      durationMs: host.clock.now() - started,
      queried: result.queried,
      responded: result.responded,
      failed: result.failed,
      unanswered: result.unanswered,
      hops: result.hops,
      found: result.closest.length,
      ok: result.closest.length > 0,
      firstResultMs,
      kthLog2Distance: kthLog2Distance(host, target, result),
    });
  }
  return result;
}

/**
 * The lookup:finished event's `kthLog2Distance`: how far from the target the k-th closest node
 * that answered sits. On a dual-stack node both families' answerers count, as in the merged result.
 */
export function kthLog2Distance(
  host: Pick<LookupHost, 'k'>,
  target: Uint8Array,
  result: LookupResult<unknown>,
): number | undefined {
  return rankLog2Distance(
    target,
    result.closest.map((c) => c.contact.id),
    host.k,
  );
}

function mergeResults<R>(target: Uint8Array, results: LookupResult<R>[]): LookupResult<R> {
  if (results.length === 1) return results[0] as LookupResult<R>;
  const closest = results
    .flatMap((r) => r.closest)
    .sort((a, b) => compareDistance(target, a.contact.id, b.contact.id));
  return {
    closest,
    queried: results.reduce((n, r) => n + r.queried, 0),
    responded: results.reduce((n, r) => n + r.responded, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    unanswered: results.reduce((n, r) => n + r.unanswered, 0),
    hops: Math.max(...results.map((r) => r.hops)),
  };
}

/**
 * The nodes to announce to: in each family, the k closest that answered with a token, favouring
 * (BEP 42 `prefer`) or keeping only (`require`) nodes whose ids are valid for their IPs.
 */
export function announceTargets(
  host: LookupHost,
  result: LookupResult<PeersReply>,
  requireTrusted: boolean,
): { contact: Contact; token: Uint8Array }[] {
  const out: { contact: Contact; token: Uint8Array }[] = [];
  for (const family of [4, 6] as const) {
    let n = 0;
    for (const { contact, result: reply } of result.closest) {
      if (contact.address.family !== family || reply.token === undefined) continue;
      if (requireTrusted && host.prefer && !host.prefer(contact)) continue;
      out.push({ contact, token: reply.token });
      if (++n >= host.k) break;
    }
  }
  return out;
}

/** Refused before sending: the contact's breaker is open (it timed out repeatedly). A failed query. */
export class BackingOffError extends KadmiumError {
  constructor(contact: Contact) {
    super(
      'CONTACT_BACKING_OFF',
      `${addressKey(contact.address)} timed out repeatedly; not queried until its back-off ends (it is probed again then)`,
    );
  }
}
