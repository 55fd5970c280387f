/** What the dashboard draws, in one JSON document: pushed over SSE each tick, and at GET /api/stats. */
import type { Dht } from '../node/dht.js';
import type { Statistics, StatisticsSnapshot } from '../services/statistics.js';
import { type MapNode, xorMap } from '../services/xor-map.js';

export interface LiveSnapshot extends StatisticsSnapshot {
  k: number;
  storageBackend: string;
  map: MapNode[];
  version: string;
}

export async function liveSnapshot(
  dht: Dht,
  stats: Statistics,
  storageBackend: string,
  version: string,
): Promise<LiveSnapshot> {
  const snap = await stats.snapshot();
  return { ...snap, k: dht.k, storageBackend, version, map: xorMap(dht.table, dht.clock.now()) };
}
