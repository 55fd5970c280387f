/**
 * Serving Mainline queries: parse, reject with 203/204, let the node observe the querier, run the
 * method's handler, and reply with the querier's address in `ip` (BEP 42). A handler that throws
 * becomes a 202 reply; nothing escapes into the socket loop.
 */
import type { NodeId } from '../../kademlia/id.js';
import type { Rpc } from '../../rpc/rpc.js';
import type { Address } from '../../transport/address.js';
import { encodeCompactAddress } from '../../wire/compact.js';
import { KrpcErrorCode, type KrpcQuery } from '../../wire/krpc.js';
import {
  type HandlerContext,
  HandlerFailure,
  type HandlerResult,
  type Handlers,
  handle,
} from './handlers/index.js';
import { ID_LENGTH, type MainlineQuery, parseQuery } from './messages.js';

export interface ServerHooks {
  /** A well-formed query arrived from a (non read-only) node: the routing table may want it. */
  queried(id: NodeId, from: Address): void;
  /** A handler failed unexpectedly. */
  fault(err: unknown, query: MainlineQuery): void;
}

export function createServer(
  rpc: Rpc,
  context: () => HandlerContext,
  hooks: ServerHooks,
  /** The methods served; default the full node's (a router passes handlers/router.ts's). */
  handlers?: Handlers,
): (q: KrpcQuery, from: Address) => void {
  return (q, from) => {
    const parsed = parseQuery(q, ID_LENGTH);
    if (!parsed.ok) {
      rpc.error(from, q.t, parsed.code, parsed.message, q.q);
      return;
    }
    const query = parsed.query;
    // BEP 43: read-only nodes never enter our table.
    if (!q.ro) hooks.queried(query.id, from);
    const reply = (result: HandlerResult): void => {
      if (result instanceof HandlerFailure) rpc.error(from, q.t, result.code, result.message, q.q);
      else rpc.respond(from, q, result, encodeCompactAddress(from));
    };
    try {
      const result = handle(context(), query, from, handlers);
      if (result instanceof Promise) {
        result.then(reply, (err: unknown) => {
          hooks.fault(err, query);
          rpc.error(from, q.t, KrpcErrorCode.Server, 'server error', q.q);
        });
      } else {
        reply(result);
      }
    } catch (err) {
      hooks.fault(err, query);
      rpc.error(from, q.t, KrpcErrorCode.Server, 'server error', q.q);
    }
  };
}
