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
} from '../transport/stream/relay-registration.js';
import { answerPunch, punchViaRelay } from '../transport/stream/simultaneous-open.js';
import type { TcpStreamTransport } from '../transport/stream/tcp.js';
import type { ChannelIdentity, VerifyDigest } from '../transport/stream/types.js';
import type { Clock } from '../util/clock.js';
import { KadmiumError } from '../util/errors.js';
import type { Random } from '../util/random.js';

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
  return throughRelays(relays, 'NO_RELAY', 'took the call', (relay, publicKey) =>
    callViaRelay(relay, publicKey),
  );
}

/**
 * The simultaneous-open hook for the TCP pool: a direct connection to a peer registered at one
 * of our relays, coordinated through it (works through endpoint-independent NATs).
 */
export function punchDialer(relays: readonly Address[] | undefined, clock: Clock) {
  return throughRelays(relays, 'NO_PUNCH', 'opened a direct path', (relay, publicKey) =>
    punchViaRelay(relay, publicKey, clock),
  );
}

function throughRelays<T>(
  relays: readonly Address[] | undefined,
  code: string,
  what: string,
  attempt: (relay: Address, publicKey: Uint8Array) => Promise<T>,
): ((publicKey: Uint8Array) => Promise<T>) | undefined {
  const list = (relays ?? []).slice(0, MAX_RELAYS_USED);
  if (list.length === 0) return undefined;
  return async (publicKey: Uint8Array) => {
    const reasons: string[] = [];
    for (const relay of list) {
      try {
        return await attempt(relay, publicKey);
      } catch (err) {
        reasons.push(`${relay.host}:${relay.port}: ${(err as Error).message}`);
      }
    }
    throw new KadmiumError(
      code,
      `no configured relay ${what} (${reasons.join('; ')}); check the relays option`,
    );
  };
}

/** Start offering and registering, once the pool exists. */
export async function startRelaying(
  options: OverlayRelayOptions,
  transport: TcpStreamTransport,
  identity: ChannelIdentity,
  verify: VerifyDigest,
  clock: Clock,
  random: Random,
  defaultHost: string,
): Promise<OverlayRelaying> {
  let offered: OverlayRelaying['offered'];
  if (options.offerRelay) {
    const at = options.offerRelay === true ? {} : options.offerRelay;
    const relay = new SpliceRelay(clock, random, verify);
    offered = { relay, address: await relay.listen(at.host ?? defaultHost, at.port ?? 0) };
  }
  const registrations = (options.relays ?? []).slice(0, MAX_RELAYS_USED).map((relay) =>
    registerWithRelay(relay, identity, clock, {
      join: (id) => dialSplice(relay, id),
      answerPunch: (id) => answerPunch(relay, id, clock),
      onSocket: (s, how) => transport.acceptRelayed(s, how),
    }),
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
