/** The Dht's options and result types (re-exported from dht.ts, where they always lived). */
import type { ExportedTable, RoutingTableOptions } from '../kademlia/routing-table.js';
import type { SecureIdMode } from '../protocols/mainline/secure-id.js';
import type { Handlers } from '../protocols/mainline/handlers/index.js';
import type { RateLimitOptions } from '../rpc/rate-limit.js';
import type { ItemStore } from '../storage/item-store.js';
import type { PeerStore } from '../storage/peer-store.js';
import type { TokenSecretSource } from '../storage/token-secrets.js';
import type { Address } from '../transport/address.js';
import type { Transport } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Resolver } from './resolve.js';

export interface DhtOptions {
  /** Our node id (20 bytes); random by default, or the one in `routingTable` when restoring. */
  id?: Uint8Array;
  /** UDP port to bind (0 = any free port). Ignored when `transport` is given. */
  port?: number;
  /** Address to bind; default 0.0.0.0. */
  host?: string;
  /** An already-bound transport (the simulator's, or a custom one). */
  transport?: Transport;
  /**
   * BEP 32: also run over IPv6. `true` requires a v6 socket, `false` never opens one, and the
   * default `'auto'` opens one when the system allows (skipped when `transport` is given).
   */
  ipv6?: boolean | 'auto';
  /** IPv6 address to bind; default `::`, or `::1` when `host` is a loopback address. */
  host6?: string;
  /** An already-bound IPv6 transport, used next to `transport` (dual stack over any transport). */
  transport6?: Transport;
  /** "host:port" routers to join through; false for none (a first node of a private network). */
  bootstrap?: readonly string[] | false;
  /** Bucket size, and the number of closest nodes lookups converge on. */
  k?: number;
  /** Parallel queries per lookup. */
  alpha?: number;
  clock?: Clock;
  random?: Random;
  resolver?: Resolver;
  peerStore?: PeerStore;
  /** BEP 44 item store (default: in memory). */
  itemStore?: ItemStore;
  /** Store every valid item, not only those we are among the K closest to (a "full node"). */
  fullNode?: boolean;
  /**
   * Offer to relay for peers that cannot punch to each other (node/relay-server.ts): opt-in, for
   * nodes with a public address; rate- and byte-limited. Default false.
   */
  relay?: boolean;
  /**
   * Ping the nodes that took our announces every `announceKeepAliveMs` (default 20 s), so that a
   * NATed announcer stays punchable (node/announce-keepalive.ts). `'auto'` (default): only while
   * the last discoverNat found a restricting NAT; true: always; false: never.
   */
  announceKeepAlive?: boolean | 'auto';
  announceKeepAliveMs?: number;
  /** Per-attempt query timeout, ms. */
  timeoutMs?: number;
  /** After this long a query no longer holds a lookup slot, ms (the ceiling with adaptive timeouts). */
  shortTimeoutMs?: number;
  /** Latency-aware lookup techniques to use (node/latency.ts; default DEFAULT_LATENCY). */
  latency?: readonly string[];
  /** Per-source (IPv4 address, IPv6 /64) limit on inbound queries; false disables it. */
  rateLimit?: RateLimitOptions | false;
  /**
   * Apply the rate limit to loopback senders too (127/8, ::1). Off by default: loopback is this
   * machine, and local tools and benchmarks should not be throttled. Turn it on to test the
   * limit on one machine, or when untrusted processes share the host.
   */
  rateLimitLoopback?: boolean;
  /**
   * Replay protection for announce tokens: a token announces at most 4 ports per infohash, so
   * one get_peers reply cannot fill a swarm with fake ports (default true; token-replay.ts).
   */
  tokenReplay?: boolean;
  /**
   * Secrets shared with sibling nodes (e.g. `RedisTokenSecrets` on the service's Redis): they
   * issue and accept each other's tokens. Fetched on listen() and every 30 s; the caller closes it.
   */
  tokenSecrets?: TokenSecretSource;
  /** BEP 43 read-only: send ro=1 and answer no queries. */
  readOnly?: boolean;
  /**
   * BEP 42 secure node ids. `off`: no checks, and our id stays as it is. `prefer` (default):
   * our id is derived from the external IP the network reports, and nodes whose ids match their
   * IPs win full buckets and count first in lookups. `require`: nodes whose ids do not match are
   * kept out of the routing table and never announced to. Local addresses are always exempt.
   */
  secureIds?: SecureIdMode;
  /** BEP 51: seconds one infohash sample is served before a new one is drawn. */
  sampleIntervalS?: number;
  routing?: RoutingTableOptions;
  /** A table saved by exportRoutingTable(), for a fast rejoin. */
  routingTable?: ExportedTable;
  lookupTimeoutMs?: number;
  maintenanceIntervalMs?: number;
  /** After joining, refresh sparse buckets in the background (default true). */
  refreshOnStart?: boolean;
  /**
   * Disjoint lookup paths for get_peers, announce and BEP 44 get/put (S/Kademlia §4.4; default 1,
   * the plain lookup). More paths resist routing attacks at the cost of messages: docs/SECURITY.md.
   */
  lookupPaths?: number;
  /**
   * Keep a reputation per contact (answers, timeouts, lies: referrals that do not exist, values
   * that fail verification, values withheld) and skip contacts it distrusts in lookups and in the
   * routing table. Default false.
   */
  reputation?: boolean;
  /**
   * The inbound method table (default: the full node's). For tests and the simulator's
   * adversaries (sim/adversary.ts), which are real nodes answering with a hostile policy.
   */
  handlers?: Handlers;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Overall time limit for this call, ms. */
  timeoutMs?: number | undefined;
}

export interface GetPeersOptions extends CallOptions {
  /** BEP 33: ask nodes for leechers only. */
  noseed?: boolean | undefined;
  /**
   * Called with every reply that carries peers and the node that sent it: that node stores the
   * peer's announce, so the peer keeps in touch with it (the rendezvous for dht.punch()).
   */
  onPeersFrom?: ((from: Address, peers: readonly Address[]) => void) | undefined;
}

export interface AnnounceOptions extends CallOptions {
  /** The port peers should connect to; default: implied (the source port of our announce). */
  port?: number | undefined;
  /** BEP 33: announce as a seed. */
  seed?: boolean;
}

export interface BootstrapResult {
  ok: boolean;
  /** Bootstrap nodes that answered. */
  responded: number;
  tried: number;
  tableSize: number;
  message: string;
}

export interface AnnounceResult {
  /** Nodes that accepted our announce. */
  announcedTo: number;
  /** Closest nodes that gave us a token. */
  candidates: number;
  /** Peers already known for the infohash, found on the way. */
  peers: Address[];
}

/** BEP 33 scrape of one infohash. */
export interface ScrapeResult {
  /** Estimated seeds (union of every node's BFsd). */
  seeds: number;
  /** Estimated leechers (union of every node's BFpe, plus legacy `values`). */
  leechers: number;
  /** Nodes that answered the get_peers lookup. */
  responded: number;
  /** Of those, the nodes that sent bloom filters. */
  withFilters: number;
  /** The merged filters, 256 bytes each. */
  seedFilter: Uint8Array;
  leecherFilter: Uint8Array;
}

export interface SampleInfohashesOptions extends CallOptions {
  /** Where in the keyspace to walk; default: a random id. */
  target?: Uint8Array | undefined;
}

/** BEP 51: infohash samples gathered on a walk towards a target. */
export interface SampleInfohashesResult {
  /** Distinct infohashes seen, in the order first seen. */
  infohashes: Uint8Array[];
  nodes: {
    address: Address;
    id: Uint8Array;
    num?: number | undefined;
    interval?: number | undefined;
    samples: number;
  }[];
  /** Nodes that refused sample_infohashes (204, no `samples`) or timed out before the walk ended. */
  failed: number;
}
