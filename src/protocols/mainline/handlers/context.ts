/** What inbound handlers may use: read access to the node's state, nothing that sends. */
import type { NodeId } from '../../../kademlia/id.js';
import type { RoutingTable } from '../../../kademlia/routing-table.js';
import type { ItemStore, StoredItem } from '../../../storage/item-store.js';
import type { PeerStore } from '../../../storage/peer-store.js';
import type { Address } from '../../../transport/address.js';
import type { Clock } from '../../../util/clock.js';
import type { BDict } from '../../../wire/bencode.js';
import type { MainlineQuery } from '../messages.js';
import type { InfohashSampler } from '../sampler.js';
import type { TokenManager } from '../tokens.js';
import type { TokenReplayGuard } from '../token-replay.js';

/** What handlers read from a routing table: a router serves from a table of tables (node/router-table.ts). */
export type NodeSource = Pick<RoutingTable, 'closest' | 'closestPacked'>;

export interface HandlerContext {
  readonly localId: NodeId;
  readonly table: NodeSource;
  readonly tokens: TokenManager;
  /** Replay protection for announce tokens (one port per token and infohash); none: off. */
  readonly replay?: TokenReplayGuard | undefined;
  readonly peers: PeerStore;
  /** BEP 44 items. */
  readonly items: ItemStore;
  /** Full node: store every valid item, not only those we are among the K closest to. */
  readonly fullNode: boolean;
  /** Keep items we are not among the K closest to as short-lived path-cache copies (path-cache.ts). */
  readonly pathCache?: boolean;
  /** Told when an item was stored, for events. */
  readonly onItemStored?: (item: StoredItem, from: Address) => void;
  readonly clock: Clock;
  readonly k: number;
  /** Most peers returned in one get_peers reply (keeps the datagram under ~1200 bytes). */
  readonly maxValues: { v4: number; v6: number };
  /** Told when a peer was stored, for events. */
  readonly onAnnounce?: (infoHash: Uint8Array, peer: Address, seed: boolean) => void;
  /** BEP 32: the IPv6 routing table of a dual-stack node (nodes6 come from here). */
  readonly table6?: NodeSource | undefined;
  /** NAT hole punching; without it the node answers punch queries with 204. */
  readonly punch?: PunchHooks | undefined;
  /** Relay circuits, ours and ones we carry; without it the node answers relay queries with 204. */
  readonly relay?: RelayHooks | undefined;
  /** BEP 51: the infohash sample we serve (without one, the first infohashes in the store). */
  readonly sampler?: InfohashSampler | undefined;
}

/** What a punch query may ask of the node (node/punch.ts does the sending). */
export interface PunchHooks {
  /** As a rendezvous: tell `target` that `requester` wants to reach it; false when we cannot. */
  introduce(target: Address, requester: Address, relayed: Address | undefined): Promise<boolean>;
  /** A rendezvous told us `peer` (also at `relayed`, a TURN address) wants to reach us: send it packets. */
  introduced(peer: Address, rendezvous: Address, relayed: Address | undefined): void;
}

/** What a relay query may ask of the node (node/relay-server.ts and relay-client.ts). */
export interface RelayHooks {
  /** As a relay: open a circuit from `requester` to `target`; a reason when we will not. */
  open(requester: Address, target: Address): Promise<string | undefined>;
  /** A relay offers to carry `peer`'s datagrams to us: true when we accept. */
  offered(peer: Address, relay: Address): boolean;
}

/** A handler's refusal, answered with a KRPC error. A class, so no reply dict can pass for one. */
export class HandlerFailure {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}

export function refuse(code: number, message: string): HandlerFailure {
  return new HandlerFailure(code, message);
}

export type HandlerResult = BDict | HandlerFailure;

export type Handler<M extends MainlineQuery['method']> = (
  ctx: HandlerContext,
  query: Extract<MainlineQuery, { method: M }>,
  from: Address,
) => HandlerResult | Promise<HandlerResult>;

/** One handler per method: the node's full table, or a restricted one (handlers/router.ts). */
export type Handlers = { [M in MainlineQuery['method']]: Handler<M> };
