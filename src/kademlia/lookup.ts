/**
 * The iterative Kademlia lookup, generic over id length and protocol: the caller supplies how to
 * query one contact and gets back the K closest contacts that answered, each with whatever its
 * reply carried (a write token, values, ...).
 *
 * - At most `alpha` queries count against the parallelism at once; a query that passes the short
 *   timeout stops counting (its slot goes to the next candidate) but its late reply is still used.
 * - The lookup ends when the K closest candidates that are neither failed nor slow have all
 *   answered, or nothing is left. A slow node that answers before then rejoins the count.
 * - With `convergedWidth`, once the alpha nearest have answered the rest of the K are asked at
 *   once (what a large K, such as the overlay's 20, otherwise waits for alpha at a time).
 */
import { AbortError } from '../util/errors.js';
import { compareDistance } from './id.js';
import type { Contact } from './routing-table.js';

export interface LookupReply<R> {
  /** Closer contacts the node told us about. */
  nodes: readonly Contact[];
  /** Protocol payload kept with the contact (e.g. a token and peers). */
  result: R;
}

export interface LookupOptions<R> {
  target: Uint8Array;
  seeds: readonly Contact[];
  k: number;
  alpha: number;
  /** Query one contact; call onSlow() when the short timeout passes; reject on failure. */
  query: (contact: Contact, onSlow: () => void) => Promise<LookupReply<R>>;
  /** Told about each answer as it arrives (for streaming results). */
  onReply?: (contact: Contact, result: R) => void;
  /** Told about each contact that failed to answer. */
  onFailure?: (contact: Contact, err: unknown) => void;
  signal?: AbortSignal | undefined;
  /**
   * Queries in flight once the lookup has converged, that is when the `alpha` closest live
   * candidates have all answered: the rest of the K closest are then asked at once instead of
   * `alpha` at a time (the Kademlia paper's last round, §2.3: "the initiator resends the
   * FIND_NODE to all of the k closest nodes it has not already queried"). Default: `alpha`.
   */
  convergedWidth?: number;
  /** Upper bound on queries sent by one lookup. */
  maxQueries?: number;
  /** Candidates kept, nearest first; farther ones are dropped. */
  maxCandidates?: number;
  /**
   * Contacts whose answers count (for example ids that pass a protocol's id check). Others are
   * still asked (at most k of them in the window, their referrals help) but do not count towards
   * the k answers that end the lookup, and come after favoured ones in `closest`. Default: all.
   */
  prefer?: (contact: Contact) => boolean;
  /**
   * Asked right before a contact is queried; false means another lookup owns it (disjoint paths)
   * and this one skips it without counting it as failed. Default: every contact is ours.
   */
  claim?: (contact: Contact) => boolean;
}

export interface LookupResult<R> {
  /** The closest contacts that answered, nearest first, at most k. */
  closest: { contact: Contact; result: R }[];
  queried: number;
  responded: number;
  failed: number;
  /**
   * Queries that passed their short timeout and had not answered when the lookup ended: the
   * waits a lookup pays for contacts that are gone (or slow). `failed` misses most of them, since
   * a query's full timeout usually ends after the lookup has, and counts refusals (an open
   * breaker, an error reply) that cost no wait.
   */
  unanswered: number;
  /** Longest chain of referrals from a seed to a contact in `closest`. */
  hops: number;
}

type State = 'new' | 'pending' | 'slow' | 'done' | 'failed' | 'taken';

interface Candidate<R> {
  contact: Contact;
  state: State;
  depth: number;
  result?: R;
}

function idKey(id: Uint8Array): string {
  let s = '';
  for (let i = 0; i < id.length; i++) s += String.fromCharCode(id[i] as number);
  return s;
}

export function lookup<R>(options: LookupOptions<R>): Promise<LookupResult<R>> {
  const { target, k, alpha, signal, prefer, claim } = options;
  const maxQueries = options.maxQueries ?? 512;
  const maxCandidates = options.maxCandidates ?? Math.max(64, k * 8);
  const seen = new Set<string>();
  let candidates: Candidate<R>[] = [];
  let active = 0;
  let inFlight = 0;
  let queried = 0;
  let responded = 0;
  let failed = 0;
  let unanswered = 0;
  let finished = false;

  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError());
      return;
    }
    const onAbort = (): void => {
      if (finished) return;
      finished = true;
      reject(new AbortError('lookup aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const add = (contact: Contact, depth: number): void => {
      if (contact.id.length !== target.length) return;
      const key = idKey(contact.id);
      if (seen.has(key)) return;
      seen.add(key);
      candidates.push({ contact, state: 'new', depth });
    };

    const finish = (): void => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      const closest: LookupResult<R>['closest'] = [];
      let hops = 0;
      const answered = candidates.filter((c) => c.state === 'done');
      const favoured = prefer ? answered.filter((c) => prefer(c.contact)) : answered;
      const others = prefer ? answered.filter((c) => !prefer(c.contact)) : [];
      for (const c of [...favoured, ...others]) {
        if (closest.length >= k) break;
        closest.push({ contact: c.contact, result: c.result as R });
        hops = Math.max(hops, c.depth + 1);
      }
      resolve({ closest, queried, responded, failed, unanswered, hops });
    };

    const step = (): void => {
      if (finished) return;
      candidates.sort((a, b) => compareDistance(target, a.contact.id, b.contact.id));
      if (candidates.length > maxCandidates) {
        // Drop the farthest candidates nobody is waiting on.
        const kept = candidates.slice(0, maxCandidates);
        for (const c of candidates.slice(maxCandidates))
          if (c.state === 'pending' || c.state === 'slow') kept.push(c);
        candidates = kept;
      }
      const width = converged() ? Math.max(alpha, options.convergedWidth ?? alpha) : alpha;
      // Walk the K closest live candidates: launch new ones while we have slots.
      let live = 0;
      let unfavoured = 0;
      let waiting = false;
      for (const c of candidates) {
        // A query past its short timeout no longer holds up the lookup: the next candidate takes
        // its place among the K closest. If it still answers before the end, it counts again.
        if (c.state === 'failed' || c.state === 'slow' || c.state === 'taken') continue;
        if (live >= k) break;
        const launchable = c.state === 'new' && active < width && queried < maxQueries;
        if (launchable && claim && !claim(c.contact)) {
          c.state = 'taken';
          continue;
        }
        if (prefer && !prefer(c.contact)) {
          // Asked, but never counted towards the k; bounded so a network of them still ends.
          if (unfavoured >= k) continue;
          unfavoured++;
        } else {
          live++;
        }
        if (launchable) launch(c);
        if (c.state !== 'done') waiting = true;
      }
      if (!waiting || (inFlight === 0 && active === 0 && !candidates.some((c) => c.state === 'new')))
        finish();
      else if (inFlight === 0 && queried >= maxQueries) finish();
    };

    /** The `alpha` nearest live candidates have all answered; call after sorting. */
    const converged = (): boolean => {
      if ((options.convergedWidth ?? alpha) <= alpha) return false;
      let seen = 0;
      for (const c of candidates) {
        if (c.state === 'failed' || c.state === 'slow' || c.state === 'taken') continue;
        if (c.state !== 'done') return false;
        if (++seen >= alpha) return true;
      }
      return seen > 0;
    };

    const launch = (c: Candidate<R>): void => {
      c.state = 'pending';
      active++;
      inFlight++;
      queried++;
      let counted = true;
      const release = (): void => {
        if (counted) {
          counted = false;
          active--;
        }
      };
      const onSlow = (): void => {
        if (c.state !== 'pending') return;
        c.state = 'slow';
        if (!finished) unanswered++;
        release();
        step();
      };
      options.query(c.contact, onSlow).then(
        (reply) => {
          release();
          inFlight--;
          if (finished) return;
          if (c.state === 'slow') unanswered--;
          c.state = 'done';
          c.result = reply.result;
          responded++;
          options.onReply?.(c.contact, reply.result);
          for (const node of reply.nodes) add(node, c.depth + 1);
          step();
        },
        (err: unknown) => {
          release();
          inFlight--;
          if (finished) return;
          c.state = 'failed';
          failed++;
          options.onFailure?.(c.contact, err);
          step();
        },
      );
    };

    for (const seed of options.seeds) add(seed, 0);
    step();
  });
}
