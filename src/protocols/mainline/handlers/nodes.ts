import { NEVER, type RoutingNode } from '../../../kademlia/routing-table.js';
import type { Address } from '../../../transport/address.js';
import { Slab } from '../../../util/slab.js';
import type { BDict } from '../../../wire/bencode.js';
import { encodeNodes } from '../../../wire/compact.js';
import type { Want } from '../messages.js';
import type { HandlerContext } from './context.js';

/** `nodes` strings live only until the reply is encoded: they share slabs (util/slab.ts). */
const replyNodes = new Slab();

/**
 * The `nodes` (and, per BEP 32, `nodes6`) a reply carries: up to K of the closest nodes we know to
 * target, in the families asked for (default: the querier's own family). Nodes that never
 * answered us are left out, and nodes known to be reachable come first: a node that only answers
 * right after querying us may sit behind a NAT nobody else can cross. The rest fill up to K, so a
 * young network, where few nodes are proven yet, still spreads.
 */
export function closestNodes(
  ctx: HandlerContext,
  target: Uint8Array,
  want: Want | undefined,
  from: Address,
): BDict {
  const n4 = want ? want.n4 : from.family === 4;
  const n6 = want ? want.n6 : from.family === 6;
  const out: BDict = {};
  if (n4) out.nodes = encodeNodes(pick(ctx, target, 4), 4, replyNodes);
  if (n6) out.nodes6 = encodeNodes(pick(ctx, target, 6), 6, replyNodes);
  return out;
}

function pick(ctx: HandlerContext, target: Uint8Array, family: 4 | 6): RoutingNode[] {
  const answered = (n: RoutingNode): boolean => n.address.family === family && n.lastResponseAt !== NEVER;
  // BEP 32: a dual-stack node keeps v6 nodes in their own table.
  const table = family === 6 ? (ctx.table6 ?? ctx.table) : ctx.table;
  // Steady state: the K closest that answered are all proven reachable.
  const near = table.closest(target, ctx.k, answered);
  if (near.every((n) => n.reachable)) return near;
  // Otherwise rank reachable nodes first, but only among the 2K closest: closeness still matters
  // more than proof, or a young network would hand out far nodes and lookups would wander.
  const window = table.closest(target, ctx.k * 2, answered);
  const chosen = window.filter((n) => n.reachable).slice(0, ctx.k);
  for (const n of window) {
    if (chosen.length >= ctx.k) break;
    if (!n.reachable) chosen.push(n);
  }
  return chosen;
}
