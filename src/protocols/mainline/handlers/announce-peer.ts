import { KrpcErrorCode } from '../../../wire/krpc.js';
import { type Handler, refuse } from './context.js';

/**
 * BEP 5 announce_peer: store the querier as a peer for the infohash, if its token is one we issued
 * to its IP for this infohash. With implied_port the peer's port is the datagram's source port.
 * With replay protection on, a token announces a few ports at most (token-replay.ts).
 */
export const announcePeer: Handler<'announce_peer'> = async (ctx, query, from) => {
  if (!ctx.tokens.verify('peers', from.host, query.infoHash, query.token)) {
    return refuse(KrpcErrorCode.Protocol, 'bad token: get a fresh one with get_peers first');
  }
  const peer = { host: from.host, port: query.impliedPort ? from.port : query.port, family: from.family };
  if (ctx.replay && !ctx.replay.accept(query.token, query.infoHash, peer.port)) {
    return refuse(
      KrpcErrorCode.Protocol,
      'token already used for too many ports of this infohash: get a fresh one with get_peers after the token rotates (5 minutes)',
    );
  }
  await ctx.peers.announce(query.infoHash, peer, query.seed, ctx.clock.now());
  ctx.onAnnounce?.(query.infoHash, peer, query.seed);
  return { id: ctx.localId };
};
