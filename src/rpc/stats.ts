/** Per-method message counters, kept by the RPC layer and read by statistics consumers. */

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
  readonly outbound = new Map<string, OutboundStats>();
  readonly inbound = new Map<string, InboundStats>();
  /** Datagrams that were not valid KRPC, replies nobody waited for, queries dropped by rate limits. */
  readonly dropped = { malformed: 0, unsolicited: 0, rateLimited: 0 };

  out(method: string): OutboundStats {
    let s = this.outbound.get(method);
    if (!s) {
      s = { tx: 0, rx: 0, errors: 0, timeouts: 0 };
      this.outbound.set(method, s);
    }
    return s;
  }

  in(method: string): InboundStats {
    let s = this.inbound.get(method);
    if (!s) {
      // Unknown method names come from the network: cap how many distinct ones we track.
      if (this.inbound.size >= 64) method = 'other';
      s = this.inbound.get(method) ?? { rx: 0, tx: 0, errors: 0 };
      this.inbound.set(method, s);
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
