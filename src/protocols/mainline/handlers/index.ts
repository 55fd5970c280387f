/** The inbound method table: one handler per method, registered in one place. */
import type { MainlineQuery } from '../messages.js';
import { announcePeer } from './announce-peer.js';
import type { Handler, HandlerContext, HandlerResult, Handlers } from './context.js';
import { findNode } from './find-node.js';
import { get } from './get.js';
import { getPeers } from './get-peers.js';
import { ping } from './ping.js';
import { punch } from './punch.js';
import { relay } from './relay.js';
import { sampleInfohashes } from './sample-infohashes.js';
import { put } from './put.js';

export { HandlerFailure } from './context.js';
export type { HandlerContext, HandlerResult, Handlers } from './context.js';
export { routerHandlers } from './router.js';

/** The full node's methods. */
export const nodeHandlers: Handlers = {
  ping,
  find_node: findNode,
  get_peers: getPeers,
  announce_peer: announcePeer,
  // BEP 51
  sample_infohashes: sampleInfohashes,
  get,
  put,
  punch,
  relay,
};

/** The methods this node serves, for per-method counters. */
export const METHODS: readonly string[] = Object.keys(nodeHandlers);

export function handle(
  ctx: HandlerContext,
  query: MainlineQuery,
  from: Parameters<Handler<'ping'>>[2],
  handlers: Handlers = nodeHandlers,
): HandlerResult | Promise<HandlerResult> {
  const handler = handlers[query.method] as Handler<typeof query.method>;
  return handler(ctx, query as never, from);
}
