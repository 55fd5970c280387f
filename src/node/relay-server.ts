/**
 * Relaying offered by a DHT node itself (opt-in: `relay: true`), for peers that cannot punch to
 * each other and have no TURN server. A requester asks us `relay {to: B}`; we open a circuit only
 * when B has queried us recently (its NAT lets us in), B accepts, and budgets allow. Then frames
 * (wire/relay-frame.ts) from the requester naming B go to B naming the requester, and back.
 *
 * We carry bytes, nothing more: overlay traffic stays end-to-end encrypted and authenticated by
 * its secure channel, and KRPC through a relay is as trustworthy as KRPC anywhere.
 *
 * Every circuit has a byte budget and a rate, all circuits together a rate, and the table a size.
 */
import type { Rpc } from '../rpc/rpc.js';
import { type Address, addressKey } from '../transport/address.js';
import type { Clock } from '../util/clock.js';
import { encodeCompactAddress } from '../wire/compact.js';
import { decodeRelayFrame, encodeRelayFrame } from '../wire/relay-frame.js';

/** The feature breaker over carrying frames for others (`relay: true`); off, frames are dropped. */
export const RELAY_SERVER_FEATURE = 'relay-server';
/** Circuits carried at once. */
export const MAX_RELAY_CIRCUITS = 64;
/** Circuits one requester IP may hold at once. */
export const RELAY_CIRCUITS_PER_HOST = 4;
/** A circuit unused this long is closed. */
export const RELAY_CIRCUIT_IDLE_MS = 60_000;
/** Bytes one circuit may carry in its life, both ways together. */
export const RELAY_CIRCUIT_BYTES = 4 * 1024 * 1024;
/** Bytes per second one circuit may carry, both ways together. */
export const RELAY_CIRCUIT_BYTES_PER_S = 64 * 1024;
/** Bytes per second all circuits together may carry. */
export const RELAY_TOTAL_BYTES_PER_S = 1024 * 1024;
/** How long we wait for the target to accept a circuit. */
export const RELAY_OFFER_TIMEOUT_MS = 1_000;

interface Circuit {
  /** The requester, as we see it. */
  a: Address;
  /** The target as the requester names it, and as we reach it. */
  aNames: Address;
  b: Address;
  bytes: number;
  lastUsed: number;
  windowStart: number;
  windowBytes: number;
}

export interface RelayServerStats {
  circuits: number;
  opened: number;
  refused: number;
  datagrams: number;
  bytes: number;
  /** Datagrams dropped: no circuit, or over a budget. */
  dropped: number;
}

export class RelayServer {
  /** "from>named" -> circuit: the key of each direction. */
  private readonly routes = new Map<string, Circuit>();
  private readonly circuits = new Set<Circuit>();
  private windowStart = 0;
  private windowBytes = 0;
  readonly stats: RelayServerStats = {
    circuits: 0,
    opened: 0,
    refused: 0,
    datagrams: 0,
    bytes: 0,
    dropped: 0,
  };

  constructor(
    private readonly rpc: () => Rpc,
    private readonly localId: () => Uint8Array,
    /** Addresses of `wanted`'s host that queried us recently (node/punch.ts keeps them). */
    private readonly inTouch: (wanted: Address) => Address[],
    private readonly send: (data: Uint8Array, to: Address) => void,
    private readonly clock: Clock,
    private readonly shutdown: AbortSignal,
  ) {}

  /** A `relay {to}` query: open a circuit, or say why not. */
  async open(requester: Address, target: Address): Promise<string | undefined> {
    this.sweep();
    const refuse = (why: string) => {
      this.stats.refused++;
      return why;
    };
    if (this.circuits.size >= MAX_RELAY_CIRCUITS)
      return refuse(`all ${MAX_RELAY_CIRCUITS} circuits are in use`);
    let held = 0;
    for (const c of this.circuits) if (c.a.host === requester.host) held++;
    if (held >= RELAY_CIRCUITS_PER_HOST)
      return refuse(`your IP holds ${RELAY_CIRCUITS_PER_HOST} circuits already; close one`);
    const existing = this.routes.get(`${addressKey(requester)}>${addressKey(target)}`);
    if (existing) return undefined;
    const candidates = this.inTouch(target);
    if (candidates.length === 0) return refuse('the target has not queried this node recently');
    const from = encodeCompactAddress(requester) as Uint8Array;
    const offer = (b: Address) =>
      this.rpc()
        .query(
          b,
          'relay',
          { id: this.localId(), from },
          { signal: this.shutdown, timeoutMs: RELAY_OFFER_TIMEOUT_MS, retries: 1 },
        )
        .then(() => b);
    let b: Address;
    try {
      b = await Promise.any(candidates.map(offer));
    } catch {
      return refuse('the target did not accept the circuit');
    }
    if (this.circuits.size >= MAX_RELAY_CIRCUITS)
      return refuse(`all ${MAX_RELAY_CIRCUITS} circuits are in use`);
    const now = this.clock.now();
    const c: Circuit = {
      a: requester,
      aNames: target,
      b,
      bytes: 0,
      lastUsed: now,
      windowStart: now,
      windowBytes: 0,
    };
    this.circuits.add(c);
    this.routes.set(`${addressKey(requester)}>${addressKey(target)}`, c);
    this.routes.set(`${addressKey(b)}>${addressKey(requester)}`, c);
    this.stats.opened++;
    this.stats.circuits = this.circuits.size;
    return undefined;
  }

  /** A frame from `from`: pass it on along its circuit, or drop it. */
  forward(data: Uint8Array, from: Address): void {
    const frame = decodeRelayFrame(data);
    const c = frame && this.routes.get(`${addressKey(from)}>${addressKey(frame.peer)}`);
    if (!frame || !c) {
      this.stats.dropped++;
      return;
    }
    const now = this.clock.now();
    const size = frame.payload.length;
    if (now - c.windowStart >= 1_000) {
      c.windowStart = now;
      c.windowBytes = 0;
    }
    if (now - this.windowStart >= 1_000) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    if (
      c.bytes + size > RELAY_CIRCUIT_BYTES ||
      c.windowBytes + size > RELAY_CIRCUIT_BYTES_PER_S ||
      this.windowBytes + size > RELAY_TOTAL_BYTES_PER_S
    ) {
      this.stats.dropped++;
      return;
    }
    const fromA = from.host === c.a.host && from.port === c.a.port;
    // Each end sees the other under the name it knows: the requester's name for the target, and
    // the requester's address as we see it.
    const out = fromA ? encodeRelayFrame(c.a, frame.payload) : encodeRelayFrame(c.aNames, frame.payload);
    if (!out) {
      this.stats.dropped++;
      return;
    }
    c.bytes += size;
    c.windowBytes += size;
    c.lastUsed = now;
    this.windowBytes += size;
    this.stats.datagrams++;
    this.stats.bytes += size;
    this.send(out, fromA ? c.b : c.a);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const c of this.circuits) {
      if (now - c.lastUsed < RELAY_CIRCUIT_IDLE_MS && c.bytes < RELAY_CIRCUIT_BYTES) continue;
      this.circuits.delete(c);
      this.routes.delete(`${addressKey(c.a)}>${addressKey(c.aNames)}`);
      this.routes.delete(`${addressKey(c.b)}>${addressKey(c.a)}`);
    }
    this.stats.circuits = this.circuits.size;
  }
}
