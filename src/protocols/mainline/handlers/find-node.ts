import type { Handler } from './context.js';
import { closestNodes } from './nodes.js';

/** BEP 5 find_node: the K closest nodes we know to the target. */
export const findNode: Handler<'find_node'> = (ctx, query, from) => ({
  id: ctx.localId,
  ...closestNodes(ctx, query.target, query.want, from),
});
