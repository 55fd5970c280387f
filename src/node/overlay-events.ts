/** Everything an overlay node reports; statistics and the daemon subscribe, protocol code only emits. */
import type { NodeId } from '../kademlia/id.js';
import type { StreamRpcEvents } from '../rpc/stream-rpc.js';
import type { Address } from '../transport/address.js';
import type { FeatureChange } from './feature-breakers.js';

export interface OverlayEvents extends StreamRpcEvents {
  'overlay:added': { id: NodeId; address: Address; bucket: number };
  'overlay:evicted': { id: NodeId; address: Address };
  'overlay:lookup': {
    kind: 'get_value' | 'find_node';
    target: Uint8Array;
    durationMs: number;
    queried: number;
    responded: number;
    /** Queries that failed (refused or silent dials, timeouts, refused by reputation). */
    failed?: number;
    /** Queries still unanswered at their short timeout (adaptive-timeouts), answered or not later. */
    unanswered?: number;
    hops: number;
  };
  'overlay:put': { target: Uint8Array; seq: bigint; stored: number; asked: number };
  /**
   * A get ended. `firstMs`: time to the first verified item (what a reader could act on), beside
   * `durationMs`, the time to the lookup's end (the highest seq among all sources).
   */
  'overlay:get': {
    target: Uint8Array;
    found: boolean;
    sources: number;
    lies: number;
    queried: number;
    durationMs: number;
    firstMs?: number;
  };
  /** A node answered with an item that failed verification (forged, or not the target asked for). */
  'overlay:lie': { from: Address; reason: string };
  'overlay:reconciled': {
    peer: Address;
    pulled: number;
    pulledNew: number;
    pushed: number;
    pushedStored: number;
  };
  'overlay:warning': { code: string; message: string };
  /** Resource pressure changed (node/budget.ts): the level, and what shrank or grew back. */
  'overlay:budget': { level: 0 | 1 | 2; changes: string[] };
  /** A maintenance tick ran: items dropped on expiry, buckets refreshed by a find_node lookup. */
  'overlay:upkeep': { expired: number; refreshed: number };
  /** The table was empty at upkeep: the bootstrap nodes were tried again. */
  'overlay:rejoin': { ok: boolean; contacts: number };
  /** An optional feature threw and is off for a back-off, or runs again (node/feature-breakers.ts). */
  'overlay:feature': FeatureChange;
  close: Record<string, never>;
}
