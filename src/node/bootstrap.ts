/**
 * Joining the network: ask every router (and saved node) for nodes near our id, then look up our
 * own id; and, when nobody answered, retry in the background with backoff.
 */
import type { NodeId } from '../kademlia/id.js';
import type { Contact, ExportedTable } from '../kademlia/routing-table.js';
import type { MainlineClient } from '../protocols/mainline/client.js';
import { type Address, addressKey, type Family, makeAddress } from '../transport/address.js';
import { deadline } from '../util/abort.js';
import { type Clock, sleep } from '../util/clock.js';
import * as defaults from './defaults.js';
import { type LookupHost, runLookup } from './lookups.js';
import type { BootstrapResult, CallOptions } from './options.js';
import { type Resolver, resolveAll, systemResolver } from './resolve.js';

export interface BootstrapHost extends LookupHost {
  readonly id: NodeId;
  readonly client: MainlineClient;
  readonly clock: Clock;
  readonly shutdown: AbortSignal;
  readonly routers: readonly string[] | false | undefined;
  readonly saved: ExportedTable | undefined;
  readonly resolver: Resolver | undefined;
}

export async function bootstrapRound(host: BootstrapHost, opts: CallOptions): Promise<BootstrapResult> {
  const { client } = host;
  const names = host.routers === false ? [] : (host.routers ?? defaults.DEFAULT_BOOTSTRAP);
  const { addresses, problems } = await resolveAll(names, host.resolver ?? systemResolver);
  for (const saved of host.saved?.nodes ?? []) {
    try {
      addresses.push(makeAddress(saved.host, saved.port));
    } catch {
      // A malformed saved entry is skipped; the rest still help.
    }
  }
  for (const node of host.tables().nodes()) addresses.push(node.address);
  const reachable = (a: Address): boolean => host.families.includes(a.family as Family);
  const unique = [...new Map(addresses.filter(reachable).map((a) => [addressKey(a), a])).values()];
  const tableSize = (): number => host.tables().size;
  if (unique.length === 0) {
    const message =
      problems.length > 0
        ? `no bootstrap node could be resolved: ${problems.join('; ')}`
        : 'no bootstrap nodes configured';
    return { ok: false, responded: 0, tried: 0, tableSize: tableSize(), message };
  }
  const d = deadline(
    host.clock,
    opts.timeoutMs ?? defaults.LOOKUP_TIMEOUT_MS,
    'bootstrap',
    opts.signal,
    host.shutdown,
  );
  try {
    const seeds: Contact[] = [];
    let responded = 0;
    await Promise.all(
      unique.map(async (address) => {
        try {
          const reply = await client.findNode(address, host.id, { signal: d.signal });
          responded++;
          seeds.push({ id: reply.id, address: reply.from }, ...reply.nodes);
        } catch {
          // Counted by `responded`; the summary says how many answered.
        }
      }),
    );
    if (responded === 0) {
      const list = names.length > 0 ? ` (${names.join(', ')})` : '';
      const why = problems.length > 0 ? `; ${problems.join('; ')}` : '';
      return {
        ok: false,
        responded,
        tried: unique.length,
        tableSize: tableSize(),
        message: `none of the ${unique.length} bootstrap node(s) answered${list}${why}`,
      };
    }
    await runLookup(host, 'bootstrap', host.id, seeds, d.signal, (contact, onSlow) =>
      client.findNode(contact.address, host.id, { signal: d.signal, onSlow }),
    ).catch(() => undefined);
    return {
      ok: true,
      responded,
      tried: unique.length,
      tableSize: tableSize(),
      message: `joined through ${responded} of ${unique.length} bootstrap node(s); ${tableSize()} nodes in the routing table`,
    };
  } finally {
    d.dispose();
  }
}

/** Retry `attempt` with backoff (1 s doubling to 5 min) until it succeeds, `done()`, or abort. */
export async function retryWithBackoff(
  clock: Clock,
  signal: AbortSignal,
  done: () => boolean,
  attempt: () => Promise<boolean>,
  warn: (message: string) => void,
): Promise<void> {
  let waitMs = defaults.BOOTSTRAP_RETRY_MIN_MS;
  while (!done()) {
    warn(`retrying bootstrap in ${Math.round(waitMs / 1000)} s`);
    try {
      await sleep(clock, waitMs, signal);
    } catch {
      return;
    }
    waitMs = Math.min(waitMs * 2, defaults.BOOTSTRAP_RETRY_MAX_MS);
    if (await attempt().catch(() => false)) return;
  }
}
