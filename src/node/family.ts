/**
 * IPv6 first on a dual-stack Mainline node: which family the node prefers for new contacts, as
 * status and stats report it, and the order in which found peers are handed out. Lookups already
 * run in both families at once (lookups.ts, BEP 32); what a family preference changes is which
 * address of a peer an application dials first.
 */
import type { Address, Family } from '../transport/address.js';

export interface FamilyReport {
  /** 6 when the node has a working IPv6 side (a v6 socket and v6 nodes that answered), else 4. */
  preferred: Family;
  v4: { nodes: number; external: string | undefined };
  v6: { nodes: number; external: string | undefined } | undefined;
}

export function familyReport(
  v4Nodes: number,
  v6Nodes: number | undefined,
  external: (family: Family) => string | undefined,
): FamilyReport {
  return {
    preferred: v6Nodes !== undefined && v6Nodes > 0 ? 6 : 4,
    v4: { nodes: v4Nodes, external: external(4) },
    v6: v6Nodes === undefined ? undefined : { nodes: v6Nodes, external: external(6) },
  };
}

/** IPv6 peers first, each family in the order found (a stable partition). */
export function v6First(peers: readonly Address[]): Address[] {
  return [...peers.filter((p) => p.family === 6), ...peers.filter((p) => p.family !== 6)];
}
