/**
 * Lookups over d disjoint paths (S/Kademlia, Baumgart and Mies 2007, §4.4). The k closest contacts
 * we know are dealt round-robin into d seed sets, nearest first, and d iterative lookups run at
 * once, each following only its own referrals; a contact is queried by at most one path, so an
 * adversary on one path cannot steer the others. With a fraction f of adversarial contacts a
 * single path fails as soon as it meets one that lies; d disjoint paths fail only when all d do.
 *
 * What counts as agreement is the caller's: `paths` keeps each path's own result, `closest` is
 * the union, nearest first.
 */
import { bytesToBinaryString } from '../util/bytes.js';
import { compareDistance } from './id.js';
import { lookup, type LookupOptions, type LookupResult } from './lookup.js';

export interface DisjointLookupOptions<R> extends Omit<LookupOptions<R>, 'claim'> {
  /** Number of disjoint paths (d = 1 is the plain lookup). */
  paths: number;
}

export interface DisjointLookupResult<R> extends LookupResult<R> {
  /** Each path's own result, in path order (a path that got no seed answered nothing). */
  paths: LookupResult<R>[];
}

export async function disjointLookup<R>(options: DisjointLookupOptions<R>): Promise<DisjointLookupResult<R>> {
  const d = Math.max(1, Math.floor(options.paths));
  const { target, k } = options;
  const seeds = [...options.seeds].sort((a, b) => compareDistance(target, a.id, b.id));
  const claimed = new Set<string>();
  const claim = (contact: { id: Uint8Array }): boolean => {
    const key = bytesToBinaryString(contact.id);
    if (claimed.has(key)) return false;
    claimed.add(key);
    return true;
  };
  const runs = Array.from({ length: d }, (_, path) =>
    lookup<R>({
      ...options,
      seeds: seeds.filter((_, i) => i % d === path),
      claim,
      ...(options.maxQueries !== undefined ? { maxQueries: Math.ceil(options.maxQueries / d) } : {}),
    }),
  );
  const paths = await Promise.all(runs);
  const byId = new Map<string, LookupResult<R>['closest'][number]>();
  for (const path of paths) {
    for (const entry of path.closest) byId.set(bytesToBinaryString(entry.contact.id), entry);
  }
  const closest = [...byId.values()]
    .sort((a, b) => compareDistance(target, a.contact.id, b.contact.id))
    .slice(0, k);
  return {
    closest,
    paths,
    queried: sum(paths, (p) => p.queried),
    responded: sum(paths, (p) => p.responded),
    failed: sum(paths, (p) => p.failed),
    unanswered: sum(paths, (p) => p.unanswered),
    hops: Math.max(0, ...paths.map((p) => p.hops)),
  };
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}
