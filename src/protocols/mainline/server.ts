/**
 * Serving Mainline queries: parse, reject with 203/204, run the method's handler, reply with the
 * querier's address in `ip` (BEP 42), then let the node observe the querier. A handler that throws
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
    // The node hears of the querier after our answer is on its way: a node we do not hold may get
    // a verification ping, and that ping must not overtake the answer. The querier is often in the
    // middle of a lookup through us; answered first, it has us in its table by the time our ping
    // arrives, instead of pinging us back to verify what our answer is about to prove (issue 15).
    const observe = (): void => {
      // BEP 43: read-only nodes never enter our table.
      if (!q.ro) hooks.queried(query.id, from);
    };
    const reply = (result: HandlerResult): void => {
      if (result instanceof HandlerFailure) rpc.error(from, q.t, result.code, result.message, q.q);
      else rpc.respond(from, q, result, encodeCompactAddress(from));
      observe();
    };
    const failed = (err: unknown): void => {
      hooks.fault(err, query);
      rpc.error(from, q.t, KrpcErrorCode.Server, 'server error', q.q);
      observe();
    };
    try {
      const result = handle(context(), query, from, handlers);
      if (result instanceof Promise) result.then(reply, failed);
      else reply(result);
    } catch (err) {
      failed(err);
    }
  };
}
