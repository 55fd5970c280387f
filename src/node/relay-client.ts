/**
 * Our side of DHT-node relay circuits (node/relay-server.ts is the relay's side). Peers reached
 * through a relay look like ordinary addresses to the Rpc above: datagrams to them leave as
 * frames to the relay, frames from the relay naming them arrive as datagrams from them.
 *
 * We accept a relay's offer for a peer only when that peer was introduced to us for punching in
 * the last RELAY_ACCEPT_MS, so a node cannot make us send our traffic for arbitrary addresses
 * through it.
 */
import type { Rpc } from '../rpc/rpc.js';
import { type Address, addressKey } from '../transport/address.js';
import type { SplitTransport } from '../transport/split.js';
import type { Clock } from '../util/clock.js';
import { encodeCompactAddress } from '../wire/compact.js';
import { decodeRelayFrame, encodeRelayFrame } from '../wire/relay-frame.js';

/**
 * The feature breaker over using relays: frames relays bring us, routing our datagrams through a
 * relay (TURN or a relaying node), accepting relay offers. Off, datagrams go direct and offers
 * are refused: peers that need a relay are out of reach until it is on again.
 */
export const RELAY_CLIENT_FEATURE = 'relay-client';
/** Peers reached through relays, remembered for routing (the oldest is forgotten). */
export const MAX_RELAY_ROUTES = 256;
/** Introductions remembered, to accept the relay offers that follow them. */
export const MAX_EXPECTED_RELAYS = 256;
/** An introduced peer's relay offer is accepted this long after the introduction. */
export const RELAY_ACCEPT_MS = 10_000;
/**
 * A route unused this long is dropped, before the relay drops its circuit (RELAY_CIRCUIT_IDLE_MS,
 * 60 s): datagrams then go direct rather than into a closed circuit.
 */
export const RELAY_ROUTE_IDLE_MS = 50_000;
/** How long we wait for a relay to open a circuit (it asks the target first). */
export const RELAY_OPEN_TIMEOUT_MS = 2_500;

export class RelayClient {
  private readonly routes = new Map<string, { peer: Address; relay: Address; lastUsed: number }>();
  private readonly expected = new Map<string, number>();
  sent = 0;
  received = 0;

  constructor(
    private readonly split: SplitTransport,
    private readonly rpc: () => Rpc,
    private readonly localId: () => Uint8Array,
    private readonly clock: Clock,
    private readonly shutdown: AbortSignal,
  ) {
    const previous = split.route;
    split.route = (data, to) => {
      const r = this.live(addressKey(to));
      if (!r) return previous?.(data, to) ?? false;
      const frame = encodeRelayFrame(to, data);
      if (!frame) return false;
      this.sent++;
      split.inner.send(frame, r.relay);
      return true;
    };
  }

  /** A frame from `from`: when `from` relays for the peer it names, hand the payload up. */
  receive(data: Uint8Array, from: Address): boolean {
    const frame = decodeRelayFrame(data);
    if (!frame) return false;
    const r = this.live(addressKey(frame.peer));
    if (!r || r.relay.host !== from.host || r.relay.port !== from.port) return false;
    this.received++;
    this.split.deliver(frame.payload, frame.peer);
    return true;
  }

  /** A rendezvous introduced `peer` to us: punching starts afresh, a relay offer may follow. */
  expect(peer: Address): void {
    this.forget(peer);
    this.expected.delete(peer.host);
    this.expected.set(peer.host, this.clock.now());
    if (this.expected.size > MAX_EXPECTED_RELAYS)
      this.expected.delete(this.expected.keys().next().value as string);
  }

  /** A relay offers to carry `peer`'s datagrams: accept when we expected it. */
  offered(peer: Address, relay: Address): boolean {
    const at = this.expected.get(peer.host);
    if (at === undefined || this.clock.now() - at > RELAY_ACCEPT_MS) return false;
    this.remember(peer, relay);
    return true;
  }

  /** Ask `relay` to carry our datagrams to `target`; from then on they go through it. */
  async open(target: Address, relay: Address, signal?: AbortSignal): Promise<void> {
    await this.rpc().query(
      relay,
      'relay',
      { id: this.localId(), to: encodeCompactAddress(target) as Uint8Array },
      { signal: signal ?? this.shutdown, timeoutMs: RELAY_OPEN_TIMEOUT_MS, retries: 0 },
    );
    this.remember(target, relay);
  }

  /** Send to `peer` directly again. */
  forget(peer: Address): void {
    this.routes.delete(addressKey(peer));
  }

  /** True when datagrams to `peer` go through a relay node. */
  carries(peer: Address): boolean {
    return this.routes.has(addressKey(peer));
  }

  /** The route for `key` when it is in use, marked used now; idle ones are dropped. */
  private live(key: string): { peer: Address; relay: Address; lastUsed: number } | undefined {
    const r = this.routes.get(key);
    if (!r) return undefined;
    const now = this.clock.now();
    if (now - r.lastUsed > RELAY_ROUTE_IDLE_MS) {
      this.routes.delete(key);
      return undefined;
    }
    r.lastUsed = now;
    return r;
  }

  private remember(peer: Address, relay: Address): void {
    const key = addressKey(peer);
    this.routes.delete(key);
    this.routes.set(key, { peer, relay, lastUsed: this.clock.now() });
    if (this.routes.size > MAX_RELAY_ROUTES) this.routes.delete(this.routes.keys().next().value as string);
  }
}
