import { compareDistance } from '../../../kademlia/id.js';
import { immutableTargetOfEncoded, mutableTarget } from '../bep44.js';
import { KrpcErrorCode } from '../../../wire/krpc.js';
import { cacheTtlMs } from '../path-cache.js';
import { type Handler, type HandlerContext, refuse } from './context.js';

/**
 * BEP 44 put: check the token (issued by our `get` for this target to this IP), then let the
 * item store validate and keep it. An ordinary node keeps only items it is among the K closest
 * to (as far as its table knows); a full node keeps every valid item.
 */
export const put: Handler<'put'> = async (ctx, query, from) => {
  const salt = query.salt && query.salt.length > 0 ? query.salt : undefined;
  const mutable = query.k !== undefined;
  const target = mutable && query.k ? mutableTarget(query.k, salt) : immutableTargetOfEncoded(query.v);
  if (!ctx.tokens.verify('items', from.host, target, query.token)) {
    return refuse(KrpcErrorCode.Protocol, 'bad token: get a fresh one with get for this target first');
  }
  let ttlMs: number | undefined;
  if (!ctx.fullNode && !amongClosest(ctx, target)) {
    ttlMs = ctx.pathCache
      ? cacheTtlMs(ctx.table, ctx.localId, target, ctx.k, ctx.items.limits.ttlMs)
      : undefined;
    if (ttlMs === undefined)
      return refuse(
        KrpcErrorCode.Generic,
        `this node is not among the ${ctx.k} closest it knows to the target; put to closer nodes`,
      );
  }
  const result = await ctx.items.put(
    {
      v: query.v,
      ...(mutable ? { k: query.k, sig: query.sig, seq: query.seq } : {}),
      ...(salt ? { salt } : {}),
      ...(query.cas !== undefined ? { cas: query.cas } : {}),
    },
    ctx.clock.now(),
    ttlMs,
  );
  if (!result.ok) return refuse(result.code, result.message);
  ctx.onItemStored?.(result.item, from);
  return { id: ctx.localId };
};

/** True when fewer than K nodes in our table are closer to target than we are. */
function amongClosest(ctx: HandlerContext, target: Uint8Array): boolean {
  const closest = ctx.table.closest(target, ctx.k);
  if (closest.length < ctx.k) return true;
  const farthest = closest[closest.length - 1];
  return farthest === undefined || compareDistance(target, ctx.localId, farthest.id) <= 0;
}
