/** kadmium: a Kademlia DHT for Node.js that speaks BitTorrent Mainline. */

export { asNodeId, compareDistance, idToHex, type NodeId, nodeIdFromHex, xor } from './kademlia/id.js';
export { lookup } from './kademlia/lookup.js';
export type {
  ClosestOptions,
  Contact,
  ExportedTable,
  RoutingNode,
  RoutingTableOptions,
} from './kademlia/routing-table.js';
export { RoutingTable } from './kademlia/routing-table.js';
export { DEFAULT_BOOTSTRAP } from './node/defaults.js';
export type {
  AnnounceOptions,
  AnnounceResult,
  BootstrapResult,
  CallOptions,
  DhtOptions,
  // BEP 33, BEP 51
  GetPeersOptions,
  SampleInfohashesOptions,
  SampleInfohashesResult,
  ScrapeResult,
} from './node/dht.js';
export { Dht } from './node/dht.js';
export type { DhtEvents, LookupKind } from './node/events.js';
export type { Resolver } from './node/resolve.js';
export type { Testnet, TestnetOptions } from './node/testnet.js';
export { createTestnet } from './node/testnet.js';
export type { PeerStore, StoredPeer } from './storage/peer-store.js';
export { MemoryPeerStore } from './storage/peer-store.js';

export { type Address, makeAddress, parseHostPort } from './transport/address.js';
export { MemoryNetwork, MemoryTransport } from './transport/memory.js';
export type { Transport } from './transport/transport.js';
export { createUdpTransport } from './transport/udp.js';
export { type ChurnEvent, type ChurnOptions, churnSchedule, sessionModel } from './sim/churn.js';
export { logNormal, pareto, paretoResidual, weibull } from './sim/distributions.js';
export { constantLatency, internetLatency, type LatencyModel, type Site } from './sim/latency.js';
export { type NetworkCounters, SimEndpoint, SimNetwork, type SimNetworkOptions } from './sim/network.js';
export { renderHtml as renderSimReport } from './sim/report-html.js';
export { formatSummary as formatSimSummary } from './sim/report-text.js';
export type { PhaseResult, SimOptions, SimProgress, SimResult } from './sim/runner.js';
export { type Scenario, SCENARIOS } from './sim/scenarios.js';
export { fingerprint as simFingerprint, simulate } from './sim/simulate.js';
export { VirtualClock } from './sim/virtual-clock.js';
export { type OpSample, type Workload, WORKLOADS } from './sim/workloads.js';
export { type SimNode, SimWorld } from './sim/world.js';
// BEP 32 dual stack, BEP 42 secure ids
export { DualTransport } from './transport/dual.js';
export { isSecureId, type SecureIdMode, secureNodeId } from './protocols/mainline/secure-id.js';
export { fromHex, toHex } from './util/bytes.js';
export { type Clock, systemClock } from './util/clock.js';
export * from './util/errors.js';
export { EventBus } from './util/events.js';
export { type Random, SeededRandom, systemRandom } from './util/random.js';

export { type BValue, decode as bdecode, encode as bencode } from './wire/bencode.js';
export { KrpcErrorCode } from './wire/krpc.js';

// The secp256k1 overlay (docs/OVERLAY.md)
export {
  type DisjointLookupOptions,
  type DisjointLookupResult,
  disjointLookup,
} from './kademlia/disjoint.js';
export {
  type OverlayBootstrap,
  type OverlayCallOptions,
  type OverlayGetResult,
  OverlayNode,
  type OverlayNodeOptions,
  type OverlayPutResult,
} from './node/overlay-node.js';
export type { OverlayEvents } from './node/overlay-events.js';
export {
  createOverlayTestnet,
  formatOverlayBootstrap,
  type ListenOverlayOptions,
  listenOverlay,
  type OverlayTestnet,
  parseOverlayBootstrap,
} from './node/overlay-tcp.js';
export { OverlayIdentity, overlayIdOf, verifyDigest, verifyPayload } from './protocols/overlay/identity.js';
export {
  isTombstone,
  itemTarget,
  type MutableItem,
  signItem,
  tombstone,
  verifyItem,
} from './protocols/overlay/item.js';
export { loadKeyFile, saveKeyFile } from './protocols/overlay/key-file.js';
export { DEFAULT_PUZZLE_DIFFICULTY, NO_PUZZLE, type PuzzleDifficulty } from './protocols/overlay/puzzle.js';
export { OverlayStore, type OverlayStoreOptions } from './protocols/overlay/store.js';
export { openBackends } from './storage/open.js';
export { MemoryStreamNetwork } from './transport/stream/memory.js';
export { TcpStreamTransport } from './transport/stream/tcp.js';
export type { Connection, StreamTransport } from './transport/stream/types.js';
export { type OverlaySimOptions, type OverlaySimReport, simulateOverlay } from './sim/overlay-sim.js';

// Discovery on the overlay (docs/DISCOVERY.md)
export { DhtDiscovery, type DhtDiscoveryOptions } from './discovery/adapter.js';
export { DiscoveryHttpClient, DiscoveryHttpError } from './discovery/http-client.js';
export {
  HybridDiscovery,
  type HybridEvents,
  type HybridOptions,
  type HybridStats,
} from './discovery/hybrid.js';
export { Mirror, type MirrorStats } from './discovery/mirror.js';
export { DiscoveryServer, type DiscoveryServerOptions } from './discovery/server.js';
export {
  decodeEntry,
  type DiscEntry,
  type DiscServer,
  encodeEntry,
  entrySigningBytes,
  signEntry,
  validateEntry,
  verifyEntrySignature,
} from './protocols/discovery/entry.js';
export { signRequest, verifyRequest } from './protocols/discovery/auth.js';
export { decodeService, type Service } from './protocols/discovery/service.js';
export {
  checkTransport,
  decodeSignedTransport,
  makeTransportId,
  newTransportEntry,
  signTransport,
  type SignedTransport,
  type TransportEntry,
} from './protocols/discovery/transport-entry.js';
// One client for many DHTs (docs/MULTI-DHT.md); the optional packages load only when configured.
export { UniversalClient, type UniversalConfig, UNIVERSAL_CALL_TIMEOUT_MS } from './universal/client.js';
export type * from './universal/types.js';
export type { NetworkFailure } from './universal/merge.js';
export {
  AdapterUnavailableError,
  NotConfiguredError,
  UnsupportedError,
  VerificationError,
} from './universal/errors.js';
export * from './universal/keys.js';
export { verifyRecord } from './universal/records.js';
export * from './universal/bridge.js';
export * from './universal/federation.js';
export { createIpfsTestnet } from './universal/adapters/ipfs.js';
export { createEthereumTestnet } from './universal/adapters/ethereum.js';
export { createHyperswarmTestnet } from './universal/adapters/hyperswarm.js';
