import { NEVER, type RoutingNode } from '../../../kademlia/routing-table.js';
import type { Address } from '../../../transport/address.js';
import type { BDict } from '../../../wire/bencode.js';
import { encodeNodes } from '../../../wire/compact.js';
import type { Want } from '../messages.js';
import type { HandlerContext } from './context.js';

/**
 * The `nodes` (and, per BEP 32, `nodes6`) a reply carries: the K closest we know to target, in
 * the families asked for (default: the querier's own family). Only nodes that have answered us are
 * handed out: one that only ever queried us may sit behind a NAT nobody can reach.
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
  if (n4)
    out.nodes = encodeNodes(
      ctx.table.closest(target, ctx.k, (n) => n.address.family === 4 && answered(n)),
      4,
    );
  if (n6)
    out.nodes6 = encodeNodes(
      ctx.table.closest(target, ctx.k, (n) => n.address.family === 6 && answered(n)),
      6,
    );
  return out;
}

function answered(node: RoutingNode): boolean {
  return node.lastResponseAt !== NEVER;
}
