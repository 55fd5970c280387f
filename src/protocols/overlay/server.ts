/**
 * The overlay's inbound side: one handler for the six methods, behind the stream RPC.
 *
 * Every request arrives on a connection whose key the handshake proved, and that proven key is
 * the sender: a body whose `sender_pk` or `sender_id` says otherwise is refused (Skywire trusted
 * the body for GetItems and PutBatch). Bodies that do not decode get BAD_REQUEST with the field at
 * fault; nothing malformed reaches the store.
 */
import type { NodeId } from '../../kademlia/id.js';
import type { RecordMemo, RoutingNode } from '../../kademlia/routing-table.js';
import { RpcErrorCode, RpcReplyError, type StreamRequestHandler } from '../../rpc/stream-rpc.js';
import type { Connection } from '../../transport/stream/types.js';
import { bytesEqual } from '../../util/bytes.js';
import type { Clock } from '../../util/clock.js';
import { overlayIdOf } from './identity.js';
import {
  decodeRequest,
  encodeResponse,
  MAX_BATCH_ITEMS,
  type OverlayRequest,
  type OverlayResponse,
} from './messages.js';
import { joinClosest, overlayPeerOf, PeerJsonCache } from './peer-json.js';
import { decodeCanonicalRequest, provenSender, type ProvenSender } from './canonical-request.js';
import type { OverlayStore } from './store.js';

/** Items one GetItems page holds at most (Skywire's default limit). */
export const GET_ITEMS_PAGE = 1_000;

export interface OverlayServerContext {
  readonly id: NodeId;
  readonly publicKey: Uint8Array;
  readonly k: number;
  readonly clock: Clock;
  readonly store: OverlayStore;
  /** The k contacts closest to a target that we would hand out. */
  closest(target: Uint8Array, n: number): RoutingNode[];
  /** The same contacts, each mapped by `make`, reusing `memo`'s values for unchanged contacts. */
  closestMapped<T>(target: Uint8Array, n: number, make: (node: RoutingNode) => T, memo?: RecordMemo<T>): T[];
  /** Whether this node should hold items for a target (regular nodes: among the k closest). */
  responsible(target: Uint8Array): boolean;
  /** A request came from this authenticated peer, listening on `port` when it said so. */
  heard(conn: Connection, port: number | undefined): void;
  /** Replies per second from which contacts' Peer bytes are cached (peer-json.ts); 0: always. */
  readonly peerJsonCacheMinPerSec?: number;
}

export function createOverlayHandler(ctx: OverlayServerContext): StreamRequestHandler {
  const peerCache = new PeerJsonCache(ctx.peerJsonCacheMinPerSec);
  // A node's Ping reply never changes: encoded once.
  let pingReply: Uint8Array | undefined;
  // Each connection's proven key and its SHA-256, computed once per connection, not per request.
  const senders = new WeakMap<Connection, ProvenSender>();
  // Not async: Ping and FindNode are answered in the same tick, with no promise per request.
  return (tag, json, conn) => {
    let sender = senders.get(conn);
    if (sender === undefined) {
      sender = provenSender(overlayIdOf(conn.remotePublicKey), conn.remotePublicKey);
      senders.set(conn, sender);
    }
    // The common case: our own or Go's canonical bytes, whose sender is the proven key by construction.
    const request = decodeCanonicalRequest(tag, json, sender) ?? decodeChecked(tag, json, sender);
    ctx.heard(conn, request.senderPort);
    switch (request.method) {
      case 'ping':
        return (pingReply ??= encodeResponse({
          method: 'ping',
          responderId: ctx.id,
          responderPk: ctx.publicKey,
        }));
      case 'find_node':
        return peerCache.closestReply(
          (make, memo) => ctx.closestMapped(request.target, ctx.k, make, memo),
          ctx.clock.now(),
        );
      case 'get_value':
        return ctx.store.get(request.target, ctx.clock.now()).then((item) => {
          if (item) {
            const closest = ctx.closest(request.target, ctx.k).map(overlayPeerOf);
            return encodeResponse({ method: 'get_value', item, closest });
          }
          const peers = peerCache.peers(
            (make, memo) => ctx.closestMapped(request.target, ctx.k, make, memo),
            ctx.clock.now(),
          );
          // No peers: `{}`, as Go's omitempty writes it.
          return peers.length > 0 ? joinClosest(peers) : encodeResponse({ method: 'get_value', closest: [] });
        });
      default:
        return answer(ctx, request).then(encodeResponse);
    }
  };
}

/** The methods that write to or page through the store; the handler answers the rest itself. */
type StoreRequest = Exclude<OverlayRequest, { method: 'ping' | 'find_node' | 'get_value' }>;

/** Any request, through the total decoder, refused unless its sender is the connection's key. */
function decodeChecked(tag: number, json: Uint8Array, sender: ProvenSender): OverlayRequest {
  const decoded = decodeRequest(tag, json);
  if (!decoded.ok) {
    const code =
      decoded.error.code === 'UNKNOWN_METHOD' ? RpcErrorCode.UnknownMethod : RpcErrorCode.BadRequest;
    throw new RpcReplyError(code, decoded.error.message);
  }
  const request = decoded.message;
  if (!bytesEqual(request.senderPk, sender.publicKey) || !bytesEqual(request.senderId, sender.id)) {
    throw new RpcReplyError(
      RpcErrorCode.BadRequest,
      'sender_pk and sender_id must be the key this connection proved and its SHA-256',
    );
  }
  return request;
}

async function answer(ctx: OverlayServerContext, request: StoreRequest): Promise<OverlayResponse> {
  const now = ctx.clock.now();
  switch (request.method) {
    case 'put_value': {
      const result = await ctx.store.put(request.item, now, {
        cas: request.cas,
        mirrorTarget: request.mirrorTarget,
        responsible: (t) => ctx.responsible(t),
      });
      return result.ok
        ? { method: 'put_value', stored: true }
        : { method: 'put_value', stored: false, error: result.message };
    }
    case 'get_items': {
      const limit = Math.min(
        request.limit && request.limit > 0 ? request.limit : GET_ITEMS_PAGE,
        GET_ITEMS_PAGE,
      );
      const page = await ctx.store.getItems(request.salt, request.sinceSeq ?? 0n, limit, now);
      return {
        method: 'get_items',
        items: page.items.map((e) => e.item),
        targets: page.items.map((e) => e.target as NodeId),
        hasMore: page.hasMore,
      };
    }
    case 'put_batch': {
      if (request.items.length > MAX_BATCH_ITEMS) {
        throw new RpcReplyError(RpcErrorCode.BadRequest, `at most ${MAX_BATCH_ITEMS} items per batch`);
      }
      const stored: boolean[] = [];
      const errors: string[] = [];
      for (let i = 0; i < request.items.length; i++) {
        const target = request.targets[i];
        const mirrorTarget = target && target.some((b) => b !== 0) ? target : undefined;
        const result = await ctx.store.put(request.items[i] as (typeof request.items)[number], now, {
          mirrorTarget,
          responsible: (t) => ctx.responsible(t),
        });
        stored.push(result.ok);
        errors.push(result.ok ? '' : result.message);
      }
      return { method: 'put_batch', stored, ...(errors.some((e) => e !== '') ? { errors } : {}) };
    }
  }
}
