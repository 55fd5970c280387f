/**
 * Per-method message counters, kept by the RPC layer and read by statistics consumers.
 *
 * Inbound method names come from the network, so they are not keys we let it choose: the known
 * KRPC methods are counted by name, every other name in one `other` bucket. A sender cycling
 * through junk names can neither grow the table nor push real methods out of it, and no byte of a
 * junk name reaches a metrics label.
 */

/** The KRPC methods counted by name: BEP 5, BEP 44 and BEP 51. */
export const KNOWN_METHODS = [
  'ping',
  'find_node',
  'get_peers',
  'announce_peer',
  'get',
  'put',
  'sample_infohashes',
] as const;

export type KnownMethod = (typeof KNOWN_METHODS)[number];

/** The bucket every inbound method name outside the known set is counted in. */
export const OTHER_METHOD = 'other';

/** Queries we sent, and what came of them. */
export interface OutboundStats {
  tx: number;
  rx: number;
  errors: number;
  timeouts: number;
}

/** Queries others sent us, and what we answered. */
export interface InboundStats {
  rx: number;
  tx: number;
  errors: number;
}

export class MethodStats {
  private readonly known: ReadonlySet<string>;
  readonly outbound = new Map<string, OutboundStats>();
  readonly inbound = new Map<string, InboundStats>();
  /** Datagrams that were not valid KRPC, replies nobody waited for, queries dropped by rate limits. */
  readonly dropped = { malformed: 0, unsolicited: 0, rateLimited: 0 };

  /** `known`: the inbound methods counted by name (default the KRPC methods above). */
  constructor(known: readonly string[] = KNOWN_METHODS) {
    this.known = new Set(known);
  }

  out(method: string): OutboundStats {
    let s = this.outbound.get(method);
    if (!s) {
      s = { tx: 0, rx: 0, errors: 0, timeouts: 0 };
      this.outbound.set(method, s);
    }
    return s;
  }

  /** The counters for an inbound method name: its own when known, else the shared `other`. */
  in(method: string): InboundStats {
    const key = this.known.has(method) ? method : OTHER_METHOD;
    let s = this.inbound.get(key);
    if (!s) {
      s = { rx: 0, tx: 0, errors: 0 };
      this.inbound.set(key, s);
    }
    return s;
  }

  snapshot(): {
    outbound: Record<string, OutboundStats>;
    inbound: Record<string, InboundStats>;
    dropped: { malformed: number; unsolicited: number; rateLimited: number };
  } {
    return {
      outbound: Object.fromEntries([...this.outbound].map(([k, v]) => [k, { ...v }])),
      inbound: Object.fromEntries([...this.inbound].map(([k, v]) => [k, { ...v }])),
      dropped: { ...this.dropped },
    };
  }
}
