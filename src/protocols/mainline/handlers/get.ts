import { decode } from '../../../wire/bencode.js';
import type { Handler } from './context.js';
import { closestNodes } from './nodes.js';

/**
 * BEP 44 get: a write token for the target, the closest nodes, and the item when we hold it.
 * With `seq` in the query, v is left out unless ours is newer (the asker already has it).
 */
export const get: Handler<'get'> = async (ctx, query, from) => {
  const item = await ctx.items.get(query.target, ctx.clock.now());
  const reply = {
    id: ctx.localId,
    ...closestNodes(ctx, query.target, undefined, from),
    token: ctx.tokens.issue('items', from.host, query.target),
  };
  if (!item) return reply;
  const decoded = decode(item.v);
  if (!decoded.ok) return reply; // stored bytes were validated on put; never send a broken value
  const sendValue = query.seq === undefined || item.seq === undefined || item.seq > query.seq;
  if (item.k === undefined) return { ...reply, v: decoded.value };
  return {
    ...reply,
    k: item.k,
    seq: item.seq,
    sig: item.sig,
    v: sendValue ? decoded.value : undefined,
  };
};
