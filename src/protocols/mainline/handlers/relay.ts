/**
 * relay (a kadmium extension for NAT traversal). Asked with `to`, we are the relay: we open a
 * circuit from the querier to that address when we offer relaying, have budget left, and the
 * target accepts. Asked with `from`, a relay offers to carry that peer's datagrams to us.
 * A node without relay hooks answers 204 like any client that does not know the method.
 */
import { KrpcErrorCode } from '../../../wire/krpc.js';
import { type Handler, refuse } from './context.js';

export const relay: Handler<'relay'> = async (ctx, query, from) => {
  const hooks = ctx.relay;
  if (!hooks) return refuse(KrpcErrorCode.MethodUnknown, 'method "relay" is unknown');
  if (query.from) {
    if (hooks.offered(query.from, from)) return { id: ctx.localId };
    return refuse(
      KrpcErrorCode.Generic,
      'no relay wanted for that peer: it was not introduced to us recently',
    );
  }
  const problem = query.to ? await hooks.open(from, query.to) : 'no target';
  if (problem === undefined) return { id: ctx.localId };
  return refuse(KrpcErrorCode.Generic, `cannot relay: ${problem}`);
};
