/**
 * The method table of a bootstrap router (`kadmium router`): it only hands out nodes. ping and
 * find_node are the node's own handlers; get_peers answers with nodes and no token, so nobody can
 * announce to a router; everything that would store something is refused with 204.
 */
import { KrpcErrorCode } from '../../../wire/krpc.js';
import { type Handler, type Handlers, refuse } from './context.js';
import { findNode } from './find-node.js';
import { closestNodes } from './nodes.js';
import { ping } from './ping.js';

/** Nodes only: no token (a router stores no peers, so an announce would have nowhere to go). */
const routerGetPeers: Handler<'get_peers'> = (ctx, query, from) => ({
  id: ctx.localId,
  ...closestNodes(ctx, query.infoHash, query.want, from),
});

const storesNothing = () =>
  refuse(
    KrpcErrorCode.MethodUnknown,
    'this is a bootstrap router: it stores nothing; use the nodes it returns',
  );

export const routerHandlers: Handlers = {
  ping,
  find_node: findNode,
  get_peers: routerGetPeers,
  announce_peer: storesNothing,
  sample_infohashes: storesNothing,
  get: storesNothing,
  put: storesNothing,
  punch: storesNothing,
  relay: storesNothing,
};
