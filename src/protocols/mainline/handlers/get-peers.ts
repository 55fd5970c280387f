import { encodePeers } from '../../../wire/compact.js';
import type { Handler } from './context.js';
import { closestNodes } from './nodes.js';

/**
 * BEP 5 get_peers: a write token, the peers we hold (of the querier's address family, capped to
 * fit one datagram), and the closest nodes, so lookups keep converging even where peers are known.
 */
export const getPeers: Handler<'get_peers'> = async (ctx, query, from) => {
  const max = from.family === 4 ? ctx.maxValues.v4 : ctx.maxValues.v6;
  const stored = await ctx.peers.peers(query.infoHash, max * 2, from.family, ctx.clock.now());
  const peers = [];
  for (const p of stored) {
    // BEP 33 noseed: the querier wants leechers only.
    if (query.noseed && p.seed) continue;
    peers.push(p.address);
    if (peers.length >= max) break;
  }
  return {
    id: ctx.localId,
    ...closestNodes(ctx, query.infoHash, query.want, from),
    token: ctx.tokens.issue(from.host, query.infoHash),
    values: peers.length > 0 ? encodePeers(peers) : undefined,
  };
};
