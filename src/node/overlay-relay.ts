/**
 * The overlay node and splice relays (transport/stream/splice-relay.ts): a public node may offer
 * one (opt-in, bounded as the splice relay is), and a node configured with relays waits at each
 * to be called (so it can be reached behind NAT) and, when a direct dial to a peer fails, reaches
 * the peer through the first relay that accepts the call. The circuit id is agreed through the
 * relay itself (splice-rendezvous.ts); the secure channel runs end to end over the splice.
 */
import type { Address } from '../transport/address.js';
import { dialSplice, SpliceRelay } from '../transport/stream/splice-relay.js';
import {
  callViaRelay,
  registerWithRelay,
  type RelayRegistration,
} from '../transport/stream/splice-rendezvous.js';
import type { TcpStreamTransport } from '../transport/stream/tcp.js';
import type { Clock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';

/** Relays one node registers with and calls through. */
export const MAX_RELAYS_USED = 4;

export interface OverlayRelayOptions {
  /** Offer a splice relay on this host (default: the node's) and port (default: any). */
  offerRelay?: boolean | { host?: string; port?: number };
  /** Splice relays to wait at and to call through (at most MAX_RELAYS_USED). */
  relays?: Address[];
}

export interface OverlayRelaying {
  /** The relay this node offers, when it offers one. */
  offered: { address: Address; relay: SpliceRelay } | undefined;
  registrations: RelayRegistration[];
  close(): Promise<void>;
}

/** The relay dial hook for the TCP pool, or undefined when no relays are configured. */
export function relayDialer(relays: readonly Address[] | undefined) {
  const list = (relays ?? []).slice(0, MAX_RELAYS_USED);
  if (list.length === 0) return undefined;
  return async (publicKey: Uint8Array) => {
    const reasons: string[] = [];
    for (const relay of list) {
      try {
        return await callViaRelay(relay, publicKey);
      } catch (err) {
        reasons.push(`${relay.host}:${relay.port}: ${(err as Error).message}`);
      }
    }
    throw new KadmiumError(
      'NO_RELAY',
      `no configured relay took the call (${reasons.join('; ')}); check the relays option`,
    );
  };
}

/** Start offering and registering, once the pool exists. */
export async function startRelaying(
  options: OverlayRelayOptions,
  transport: TcpStreamTransport,
  publicKey: Uint8Array,
  clock: Clock,
  defaultHost: string,
): Promise<OverlayRelaying> {
  let offered: OverlayRelaying['offered'];
  if (options.offerRelay) {
    const at = options.offerRelay === true ? {} : options.offerRelay;
    const relay = new SpliceRelay(clock);
    offered = { relay, address: await relay.listen(at.host ?? defaultHost, at.port ?? 0) };
  }
  const registrations = (options.relays ?? []).slice(0, MAX_RELAYS_USED).map((relay) =>
    registerWithRelay(
      relay,
      publicKey,
      clock,
      (id) => dialSplice(relay, id),
      (s) => transport.acceptRelayed(s),
    ),
  );
  return {
    offered,
    registrations,
    async close() {
      for (const r of registrations) r.close();
      await offered?.relay.close();
    },
  };
}
