/**
 * punch (a kadmium extension for NAT traversal). Asked with `to`, we act as the rendezvous and
 * introduce the querier to that address; asked with `from`, a rendezvous introduces a peer to us.
 * A node without punching (no hooks) answers 204 like any client that does not know the method.
 */
import { KrpcErrorCode } from '../../../wire/krpc.js';
import { type Handler, refuse } from './context.js';

export const punch: Handler<'punch'> = async (ctx, query, from) => {
  const hooks = ctx.punch;
  if (!hooks) return refuse(KrpcErrorCode.MethodUnknown, 'method "punch" is unknown');
  if (query.from) {
    hooks.introduced(query.from, from, query.relayed);
    return { id: ctx.localId };
  }
  if (query.to && (await hooks.introduce(query.to, from, query.relayed))) return { id: ctx.localId };
  return refuse(
    KrpcErrorCode.Generic,
    'cannot introduce you: the target has not been in touch with this node recently or did not answer; try another rendezvous',
  );
};
