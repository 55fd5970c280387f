/**
 * The overlay node's defaults, options and results (the node itself is overlay-node.ts).
 */
import type { MutableItem } from '../protocols/overlay/item.js';
import { checkTechniques, LatencyRouting, type LatencyTechnique } from './latency.js';
import { InvalidArgumentError } from '../util/errors.js';
import type { OverlayIdentity } from '../protocols/overlay/identity.js';
import type { PuzzleDifficulty } from '../protocols/overlay/puzzle.js';
import type { OverlayStore } from '../protocols/overlay/store.js';
import type { StateStore } from '../storage/state-store.js';
import type { Address } from '../transport/address.js';
import type { StreamTransport } from '../transport/stream/types.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';

export const OVERLAY_K = 20;
export const OVERLAY_ALPHA = 3;
/** Disjoint paths per lookup (S/Kademlia §4.4); 1 is the plain Kademlia lookup. */
export const OVERLAY_PATHS = 3;
export const OVERLAY_CALL_TIMEOUT_MS = 30_000;
export const OVERLAY_REQUEST_TIMEOUT_MS = 5_000;
/** Buckets idle this long are refreshed with a lookup of a random id in their range. */
export const OVERLAY_REFRESH_MS = 15 * 60_000;
export const OVERLAY_MAINTENANCE_MS = 30_000;
/** Full nodes reconcile with their peers this often (Skywire: hourly), and once at start. */
export const OVERLAY_RECONCILE_MS = 60 * 60_000;
/**
 * Latency techniques the overlay applies (node/latency.ts; path-cache and adaptive-refresh are
 * Mainline's), and its default: the ones the simulator showed help (docs/OVERLAY.md).
 */
export const OVERLAY_LATENCY_TECHNIQUES: readonly LatencyTechnique[] = [
  'converged-width',
  'adaptive-timeouts',
  'pns',
];
export const OVERLAY_DEFAULT_LATENCY: readonly LatencyTechnique[] = ['converged-width', 'adaptive-timeouts'];
/**
 * With `adaptive-timeouts`, a query stops holding a lookup slot after this many of the contact's
 * slow-after times: one to a contact we hold no connection to costs a dial, the handshake and
 * the request.
 */
export const OVERLAY_SLOW_RTTS = 3;
/** The most one round trip may take before it counts as slow, ms (the RTT tracker's cap). */
export const OVERLAY_SLOW_RTT_MS = 500;

/** The latency state of an overlay node using `list`; Mainline-only techniques are refused. */
export function overlayLatency(list: readonly string[] = OVERLAY_DEFAULT_LATENCY): LatencyRouting {
  for (const t of checkTechniques(list)) {
    if (!OVERLAY_LATENCY_TECHNIQUES.includes(t))
      throw new InvalidArgumentError(
        `latency technique "${t}" is Mainline's; the overlay takes ${OVERLAY_LATENCY_TECHNIQUES.join(', ')}`,
      );
  }
  return new LatencyRouting(list, OVERLAY_SLOW_RTT_MS);
}

export interface OverlayBootstrap {
  publicKey: Uint8Array;
  address: Address;
  /** The same node's other addresses (a dual-stack host's v6 and v4): dialled IPv6 first. */
  alternates?: Address[];
}

export interface OverlayNodeOptions {
  identity: OverlayIdentity;
  /**
   * Replies per second from which the server reuses its contacts' encoded Peer bytes (default
   * PEER_JSON_CACHE_MIN_PER_SEC; 0: always, for a simulator with memory to spare). The bytes sent
   * are the same either way.
   */
  peerJsonCacheMinPerSec?: number;
  transport: StreamTransport;
  /** The port others should dial us on, sent with every request (default: the transport's). */
  advertisedPort?: number;
  /**
   * The host others should dial us on, published in full-node adverts (default: the bound one).
   * A node bound to 0.0.0.0 or :: needs it to advertise: a wildcard dials the dialler itself.
   */
  advertisedHost?: string;
  /**
   * Tell peers our port so they may add us to their tables (default true). One-shot clients say
   * no: they would only fill others' tables with nodes about to leave (like BEP 43's ro=1).
   */
  advertise?: boolean;
  bootstrap?: OverlayBootstrap[];
  clock?: Clock;
  random?: Random;
  k?: number;
  alpha?: number;
  /** Disjoint lookup paths, d. */
  paths?: number;
  store?: OverlayStore;
  fullNode?: boolean;
  /** Other full nodes this one reconciles with (GetItems / PutBatch), at start and hourly. */
  fullNodes?: OverlayBootstrap[];
  /** Where the last seq used per target is kept across restarts. */
  state?: StateStore;
  difficulty?: PuzzleDifficulty;
  requestTimeoutMs?: number;
  /** Latency techniques (OVERLAY_LATENCY_TECHNIQUES; default OVERLAY_DEFAULT_LATENCY). */
  latency?: readonly string[];
  /** Called last in close(): release what the node was built on (storage files, connections). */
  release?: () => Promise<void>;
  /** Let loopback and private addresses share buckets (testnets); default true. */
  exemptLocal?: boolean;
  /**
   * Keep a per-contact reputation (kademlia/reputation.ts; default off, as on Mainline): lies are
   * referrals that cannot be dialled while none of the referrer's answer, items failing
   * verification, stale or withheld items; a distrusted contact is not queried, not admitted to
   * the table, and dropped from it.
   */
  reputation?: boolean;
}

export interface OverlayCallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface OverlayPutResult {
  target: Uint8Array;
  seq: bigint;
  /** Nodes that stored it. */
  stored: number;
  /** Nodes asked. */
  asked: number;
  /** This node keeps a copy (it is among the closest, a full node, or alone). */
  storedLocally: boolean;
}

export interface OverlayGetResult {
  item: MutableItem;
  /** The item is a tombstone: its publisher deleted it. */
  deleted: boolean;
  /** Nodes that answered with a valid item, and with an invalid one. */
  sources: number;
  lies: number;
}
