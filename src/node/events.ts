/** Everything a node reports. Statistics, metrics and the dashboard subscribe; protocol code only emits. */
import type { NodeId } from '../kademlia/id.js';
import type { RpcEvents } from '../rpc/rpc.js';
import type { Address } from '../transport/address.js';

export type LookupKind = 'find_node' | 'get_peers' | 'announce' | 'bootstrap' | 'refresh' | 'get' | 'put';

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
    hops: number;
    /** Peers found (get_peers, announce) or contacts (find_node). */
    found: number;
    ok: boolean;
  };
  bootstrap: { ok: boolean; responded: number; tried: number; message: string; retryInMs?: number };
  'peer:stored': { infoHash: Uint8Array; peer: Address; seed: boolean };
  'item:stored': { target: Uint8Array; mutable: boolean; seq: number | undefined; from: Address };
  'token:rotated': { rotations: number };
  warning: { code: string; message: string };
  close: Record<string, never>;
}
