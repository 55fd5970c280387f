/** What inbound handlers may use: read access to the node's state, nothing that sends. */
import type { NodeId } from '../../../kademlia/id.js';
import type { RoutingTable } from '../../../kademlia/routing-table.js';
import type { ItemStore, StoredItem } from '../../../storage/item-store.js';
import type { PeerStore } from '../../../storage/peer-store.js';
import type { Address } from '../../../transport/address.js';
import type { Clock } from '../../../util/clock.js';
import type { BDict } from '../../../wire/bencode.js';
import type { MainlineQuery, QueryFailure } from '../messages.js';
import type { TokenManager } from '../tokens.js';

export interface HandlerContext {
  readonly localId: NodeId;
  readonly table: RoutingTable;
  readonly tokens: TokenManager;
  readonly peers: PeerStore;
  /** BEP 44 items. */
  readonly items: ItemStore;
  /** Full node: store every valid item, not only those we are among the K closest to. */
  readonly fullNode: boolean;
  /** Told when an item was stored, for events. */
  readonly onItemStored?: (item: StoredItem, from: Address) => void;
  readonly clock: Clock;
  readonly k: number;
  /** Most peers returned in one get_peers reply (keeps the datagram under ~1200 bytes). */
  readonly maxValues: { v4: number; v6: number };
  /** Told when a peer was stored, for events. */
  readonly onAnnounce?: (infoHash: Uint8Array, peer: Address, seed: boolean) => void;
}

export type HandlerResult = BDict | QueryFailure;

export type Handler<M extends MainlineQuery['method']> = (
  ctx: HandlerContext,
  query: Extract<MainlineQuery, { method: M }>,
  from: Address,
) => HandlerResult | Promise<HandlerResult>;
