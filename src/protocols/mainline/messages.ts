/**
 * Mainline (BEP 5) method arguments: KRPC queries become a typed union, or a KRPC error that says
 * exactly what was wrong (203 for bad arguments, 204 for unknown methods).
 */
import type { NodeId } from '../../kademlia/id.js';
import type { Address } from '../../transport/address.js';
import type { BDict } from '../../wire/bencode.js';
import { decodeCompactAddress } from '../../wire/compact.js';
import { KrpcErrorCode, type KrpcQuery } from '../../wire/krpc.js';
import { type GetQuery, type PutQuery, parseGet, parsePut } from './bep44-messages.js';

export const ID_LENGTH = 20;

/** BEP 32 `want`: which families of nodes the querier asks for. */
export interface Want {
  n4: boolean;
  n6: boolean;
}

export type MainlineQuery =
  | { method: 'ping'; id: NodeId }
  | { method: 'find_node'; id: NodeId; target: Uint8Array; want: Want | undefined }
  | {
      method: 'get_peers';
      id: NodeId;
      infoHash: Uint8Array;
      want: Want | undefined;
      noseed: boolean;
      /** BEP 33: the querier wants the BFsd/BFpe bloom filters. */
      scrape: boolean;
    }
  | {
      method: 'announce_peer';
      id: NodeId;
      infoHash: Uint8Array;
      port: number;
      impliedPort: boolean;
      token: Uint8Array;
      seed: boolean;
    }
  // BEP 51
  | { method: 'sample_infohashes'; id: NodeId; target: Uint8Array; want: Want | undefined }
  // BEP 44
  | GetQuery
  | PutQuery
  /**
   * NAT hole punching (a kadmium extension; other clients answer 204). `to`: asked of a
   * rendezvous, "introduce me to this address"; `from`: sent by a rendezvous, "this address
   * wants to reach you, send it packets".
   */
  | {
      method: 'punch';
      id: NodeId;
      to: Address | undefined;
      from: Address | undefined;
      /** The requester's TURN relayed address, when it has one (the relay of last resort). */
      relayed: Address | undefined;
    }
  /**
   * A relay circuit through a DHT node that offers to relay (a kadmium extension; node/relay-*.ts).
   * `to`: asked of the relay, "carry my datagrams to this address"; `from`: sent by the relay,
   * "this address reaches you through me".
   */
  | { method: 'relay'; id: NodeId; to: Address | undefined; from: Address | undefined };

export type Method = MainlineQuery['method'];

export interface QueryFailure {
  code: number;
  message: string;
}

export type ParseResult = { ok: true; query: MainlineQuery } | ({ ok: false } & QueryFailure);

const protocolError = (message: string): ParseResult => ({
  ok: false,
  code: KrpcErrorCode.Protocol,
  message,
});

function bytesArg(a: BDict, key: string, length?: number): Uint8Array | string {
  const v = a[key];
  if (!(v instanceof Uint8Array)) return `missing or non-string argument "${key}"`;
  if (length !== undefined && v.length !== length)
    return `argument "${key}" must be ${length} bytes, got ${v.length}`;
  return v;
}

function parseWant(a: BDict): Want | undefined {
  const w = a.want;
  if (!Array.isArray(w)) return undefined;
  const want: Want = { n4: false, n6: false };
  for (const item of w) {
    if (!(item instanceof Uint8Array) || item.length !== 2 || item[0] !== 0x6e) continue;
    if (item[1] === 0x34) want.n4 = true;
    else if (item[1] === 0x36) want.n6 = true;
  }
  return want;
}

export function parseQuery(q: KrpcQuery, idLength = ID_LENGTH): ParseResult {
  const a = q.a;
  const id = bytesArg(a, 'id', idLength);
  switch (q.q) {
    case 'ping':
      if (typeof id === 'string') return protocolError(id);
      return { ok: true, query: { method: 'ping', id: id as NodeId } };
    case 'find_node': {
      if (typeof id === 'string') return protocolError(id);
      const target = bytesArg(a, 'target', idLength);
      if (typeof target === 'string') return protocolError(target);
      return { ok: true, query: { method: 'find_node', id: id as NodeId, target, want: parseWant(a) } };
    }
    case 'get_peers': {
      if (typeof id === 'string') return protocolError(id);
      const infoHash = bytesArg(a, 'info_hash', idLength);
      if (typeof infoHash === 'string') return protocolError(infoHash);
      return {
        ok: true,
        query: {
          method: 'get_peers',
          id: id as NodeId,
          infoHash,
          want: parseWant(a),
          noseed: a.noseed === 1,
          scrape: a.scrape === 1,
        },
      };
    }
    case 'announce_peer': {
      if (typeof id === 'string') return protocolError(id);
      const infoHash = bytesArg(a, 'info_hash', idLength);
      if (typeof infoHash === 'string') return protocolError(infoHash);
      const token = bytesArg(a, 'token');
      if (typeof token === 'string') return protocolError(token);
      const impliedPort = a.implied_port === 1;
      const port = a.port;
      if (!impliedPort && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
        return protocolError('argument "port" must be an integer 1-65535 (or set implied_port=1)');
      }
      return {
        ok: true,
        query: {
          method: 'announce_peer',
          id: id as NodeId,
          infoHash,
          port: typeof port === 'number' ? port : 0,
          impliedPort,
          token,
          seed: a.seed === 1,
        },
      };
    }
    case 'sample_infohashes': {
      if (typeof id === 'string') return protocolError(id);
      const target = bytesArg(a, 'target', idLength);
      if (typeof target === 'string') return protocolError(target);
      return {
        ok: true,
        query: { method: 'sample_infohashes', id: id as NodeId, target, want: parseWant(a) },
      };
    }
    case 'punch': {
      if (typeof id === 'string') return protocolError(id);
      const to = a.to instanceof Uint8Array ? decodeCompactAddress(a.to) : undefined;
      const from = a.from instanceof Uint8Array ? decodeCompactAddress(a.from) : undefined;
      if ((to === undefined) === (from === undefined))
        return protocolError('punch needs exactly one of "to" and "from" (a compact address)');
      const relayed = a.r instanceof Uint8Array ? decodeCompactAddress(a.r) : undefined;
      return { ok: true, query: { method: 'punch', id: id as NodeId, to, from, relayed } };
    }
    case 'relay': {
      if (typeof id === 'string') return protocolError(id);
      const to = a.to instanceof Uint8Array ? decodeCompactAddress(a.to) : undefined;
      const from = a.from instanceof Uint8Array ? decodeCompactAddress(a.from) : undefined;
      if ((to === undefined) === (from === undefined))
        return protocolError('relay needs exactly one of "to" and "from" (a compact address)');
      return { ok: true, query: { method: 'relay', id: id as NodeId, to, from } };
    }
    case 'get':
      if (typeof id === 'string') return protocolError(id);
      return parseGet(a, id as NodeId, idLength);
    case 'put':
      if (typeof id === 'string') return protocolError(id);
      return parsePut(a, id as NodeId);
    default:
      return {
        ok: false,
        code: KrpcErrorCode.MethodUnknown,
        message: `method "${q.q.slice(0, 32)}" is unknown`,
      };
  }
}
