/** Everything a node reports. Statistics, metrics and the dashboard subscribe; protocol code only emits. */
import type { NodeId } from '../kademlia/id.js';
import type { RpcEvents } from '../rpc/rpc.js';
import type { Address } from '../transport/address.js';
import type { FeatureChange } from './feature-breakers.js';
import type { NatReport } from './nat.js';
import type { PunchResult } from './punch.js';

/** Every kind of lookup a node runs; consumers (statistics, metrics) iterate this list. */
export const LOOKUP_KINDS = [
  'find_node',
  'get_peers',
  'announce',
  'bootstrap',
  'refresh',
  // BEP 33, BEP 51
  'scrape',
  'sample_infohashes',
  // BEP 44
  'get',
  'put',
] as const;

export type LookupKind = (typeof LOOKUP_KINDS)[number];

export interface DhtEvents extends RpcEvents {
  listening: { address: Address };
  'node:added': { id: NodeId; address: Address; bucket: number };
  'node:evicted': { id: NodeId; address: Address; reason: 'bad' | 'failed' };
  'lookup:finished': {
    kind: LookupKind;
    target: Uint8Array;
    durationMs: number;
    queried: number;
    responded: number;
    failed: number;
    /** Queries unanswered past their short timeout when the lookup ended (kademlia/lookup.ts). */
    unanswered?: number;
    hops: number;
    /** Peers found (get_peers, announce) or contacts (find_node). */
    found: number;
    ok: boolean;
    /** Time to the first reply that carried a result (a peer, an item); undefined when none did. */
    firstResultMs?: number | undefined;
    /**
     * log2 of the XOR distance from the target to the k-th closest of the k answering nodes the
     * lookup settled on (k: the node's k; under BEP 42 `prefer`, ids valid for their IPs first);
     * undefined when fewer than k answered. Ids placed around one target (a targeted
     * eclipse) pull it bits below the node's usual level (services/anomaly.ts, target-density).
     * One number rather than the closest ids: the event stays small, and listeners that keep
     * lookups (the dashboard's recent list) hold no contact ids.
     */
    kthLog2Distance?: number | undefined;
  };
  bootstrap: { ok: boolean; responded: number; tried: number; message: string; retryInMs?: number };
  /**
   * Self-healing (node/healing.ts): the table looked lost (`empty`, or `silent`: only timeouts
   * for a whole maintenance tick), then the rejoin through saved contacts and routers ended.
   */
  heal: {
    reason: 'empty' | 'silent';
    phase: 'lost' | 'rejoined' | 'failed';
    tableSize: number;
    tookMs?: number;
  };
  'peer:stored': { infoHash: Uint8Array; peer: Address; seed: boolean };
  'item:stored': { target: Uint8Array; mutable: boolean; seq: number | undefined; from: Address };
  'token:rotated': { rotations: number };
  warning: { code: string; message: string };
  /** BEP 42: enough responders agree on our external address (per family). */
  'external-ip': { host: string; family: 4 | 6 };
  /** Our external address changed: `count` recent announces are being repeated (node/reannounce.ts). */
  reannounce: { host: string; count: number };
  /** Resource pressure changed (node/budget.ts): the level, and what shrank or grew back. */
  budget: { level: 0 | 1 | 2; changes: string[] };
  /** BEP 42: our id was re-derived from our external IP; the routing tables were rebuilt. */
  'id:changed': { id: NodeId; previous: NodeId; ip: string };
  /** NAT discovery finished (dht.discoverNat): the behaviour and external address seen. */
  nat: NatReport;
  /** A hole punch connected (ours, or one a rendezvous introduced to us). */
  'nat:punched': PunchResult & { initiator: boolean };
  'nat:punch-failed': { target: Address; initiator: boolean; reason: string };
  /**
   * An optional feature threw and is switched off for a back-off (`off`), or ran cleanly again
   * (`on`): node/feature-breakers.ts.
   */
  feature: FeatureChange;
  close: Record<string, never>;
}
