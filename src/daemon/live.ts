/** What the dashboard draws, in one JSON document: pushed over SSE each tick, and at GET /api/stats. */
import type { Dht } from '../node/dht.js';
import type { Statistics, StatisticsSnapshot } from '../services/statistics.js';
import { type MapNode, xorMap } from '../services/xor-map.js';
import type { DaemonOverlay } from './overlay.js';

/** The feature breaker (node/feature-breakers.ts) over the dashboard's live feed (SSE /events). */
export const DASHBOARD_FEED_FEATURE = 'dashboard-feed';

export interface LiveSnapshot extends StatisticsSnapshot {
  k: number;
  storageBackend: string;
  map: MapNode[];
  version: string;
  /** The overlay panel's figures, when the overlay runs. */
  overlay?: OverlayPanel;
}

export interface OverlayPanel {
  address: string;
  contacts: number;
  items: Record<string, number>;
  lookups: number;
  lies: number;
  busy: number;
  recentLookups: ReturnType<DaemonOverlay['stats']['recentLookups']>;
}

export function overlayPanel(overlay: DaemonOverlay): OverlayPanel {
  const s = overlay.stats.snapshot();
  return {
    address: overlay.address,
    contacts: s.contacts,
    items: s.items,
    lookups: s.lookups.get_value + s.lookups.find_node,
    lies: s.lies,
    busy: s.busy,
    recentLookups: s.recentLookups.slice(0, 10),
  };
}

export async function liveSnapshot(
  dht: Dht,
  stats: Statistics,
  storageBackend: string,
  version: string,
  overlay?: DaemonOverlay,
): Promise<LiveSnapshot> {
  const snap = await stats.snapshot();
  return {
    ...snap,
    k: dht.k,
    storageBackend,
    version,
    map: xorMap(dht.table, dht.clock.now()),
    ...(overlay ? { overlay: overlayPanel(overlay) } : {}),
  };
}
