import type { Address } from '../../../transport/address.js';
import { Slab } from '../../../util/slab.js';
import type { BDict } from '../../../wire/bencode.js';
import type { Want } from '../messages.js';
import type { HandlerContext } from './context.js';

/** `nodes` strings live only until the reply is encoded: they share slabs (util/slab.ts). */
const replyNodes = new Slab();

/**
 * The `nodes` (and, per BEP 32, `nodes6`) a reply carries: up to K of the closest nodes we know to
 * target, in the families asked for (default: the querier's own family). Nodes that never
 * answered us are left out, and nodes known to be reachable come first: a node that only answers
 * right after querying us may sit behind a NAT nobody else can cross. The table packs them in the
 * compact node info form (id, IP, port) straight from its records.
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
  if (n4) out.nodes = pack(ctx, target, 4);
  if (n6) out.nodes6 = pack(ctx, target, 6);
  return out;
}

function pack(ctx: HandlerContext, target: Uint8Array, family: 4 | 6): Uint8Array {
  // BEP 32: a dual-stack node keeps v6 nodes in their own table.
  const table = family === 6 ? (ctx.table6 ?? ctx.table) : ctx.table;
  return table.closestPacked(target, ctx.k, { family, answered: true, reachableFirst: true }, replyNodes);
}
