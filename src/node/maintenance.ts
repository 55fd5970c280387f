/**
 * Periodic upkeep: expire stored peers and refresh buckets nothing touched for 15 minutes, or,
 * with adaptive refresh, for an interval that follows the observed churn (refresh-pacer.ts).
 */
import { type NodeId, randomIdWithPrefix } from '../kademlia/id.js';
import type { RoutingTable } from '../kademlia/routing-table.js';
import type { MainlineClient } from '../protocols/mainline/client.js';
import type { PeerStore } from '../storage/peer-store.js';
import { deadline } from '../util/abort.js';
import type { Random } from '../util/random.js';
import * as defaults from './defaults.js';
import { type LookupHost, runLookup } from './lookups.js';
import { FIXED_REFRESH_INTERVAL_MS, RefreshPacer } from './refresh-pacer.js';

export interface MaintenanceHost extends LookupHost {
  readonly id: NodeId;
  readonly random: Random;
  readonly peers: PeerStore;
  readonly shutdown: AbortSignal;
  /** Refresh interval from the observed churn (latency technique `adaptive-refresh`). */
  readonly adaptiveRefresh: boolean;
  warn(code: string, message: string): void;
}

export class Maintenance {
  /** Refresh lookups running now (at most MAX_CONCURRENT_REFRESH). */
  private refreshing = 0;
  /** Set on the first tick of a node with adaptive refresh. */
  private pacer: RefreshPacer | undefined;

  constructor(private readonly host: MaintenanceHost) {}

  /** The refresh interval in force, ms (the fixed one unless adaptive refresh is on). */
  get refreshIntervalMs(): number {
    return this.pacer?.intervalMs() ?? FIXED_REFRESH_INTERVAL_MS;
  }

  run(client: MainlineClient | undefined): void {
    const { host } = this;
    const now = host.clock.now();
    host.peers
      .expire(now)
      .catch((err: unknown) => host.warn('STORAGE', `peer expiry failed: ${String(err)}`));
    const tables = host.tables();
    if (!client || tables.size === 0) return;
    if (host.adaptiveRefresh) {
      this.pacer ??= new RefreshPacer();
      this.pacer.tick(now, tables.evictions, tables.size);
    }
    for (const { family, index } of tables.staleBuckets(now, this.refreshIntervalMs)) {
      if (this.refreshing >= defaults.MAX_CONCURRENT_REFRESH) break;
      const table = tables.table(family) as RoutingTable;
      const target = randomIdWithPrefix(host.random, host.id, index);
      table.touchBucket(index, now);
      this.refreshing++;
      const d = deadline(host.clock, defaults.LOOKUP_TIMEOUT_MS, 'refresh', host.shutdown);
      const seeds = tables.closest(target, host.k * 2, family);
      runLookup(host, 'refresh', target, seeds, d.signal, (contact, onSlow) =>
        client.findNode(contact.address, target, { signal: d.signal, onSlow }),
      )
        .catch(() => undefined)
        .finally(() => {
          d.dispose();
          this.refreshing--;
        });
    }
  }
}
