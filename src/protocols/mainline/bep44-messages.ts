/**
 * BEP 44 query arguments: `get` and `put` parsed into typed shapes, or a 203 failure that says
 * which argument is wrong. Value-level rules (sizes, signatures, seq/CAS) are the item store's.
 */
import type { NodeId } from '../../kademlia/id.js';
import { type BDict, type BValue, encode } from '../../wire/bencode.js';
import { KrpcErrorCode } from '../../wire/krpc.js';

export interface GetQuery {
  method: 'get';
  id: NodeId;
  target: Uint8Array;
  /** Only send v when the stored seq is greater than this. */
  seq: number | undefined;
}

export interface PutQuery {
  method: 'put';
  id: NodeId;
  token: Uint8Array;
  /** The value, re-encoded canonically (BEP 44 signs and hashes the bencoded form). */
  v: Uint8Array;
  k: Uint8Array | undefined;
  sig: Uint8Array | undefined;
  salt: Uint8Array | undefined;
  seq: number | undefined;
  cas: number | undefined;
}

type Parsed<Q> = { ok: true; query: Q } | { ok: false; code: number; message: string };

const fail = (message: string): { ok: false; code: number; message: string } => ({
  ok: false,
  code: KrpcErrorCode.Protocol,
  message,
});

function optionalBytes(a: BDict, key: string): Uint8Array | undefined | string {
  const v = a[key];
  if (v === undefined) return undefined;
  return v instanceof Uint8Array ? v : `argument "${key}" must be a byte string`;
}

function optionalInt(a: BDict, key: string): number | undefined | string {
  const v = a[key];
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : `argument "${key}" must be an integer`;
}

export function parseGet(a: BDict, id: NodeId, idLength: number): Parsed<GetQuery> {
  const target = a.target;
  if (!(target instanceof Uint8Array) || target.length !== idLength)
    return fail(`argument "target" must be ${idLength} bytes`);
  const seq = optionalInt(a, 'seq');
  if (typeof seq === 'string') return fail(seq);
  return { ok: true, query: { method: 'get', id, target, seq } };
}

export function parsePut(a: BDict, id: NodeId): Parsed<PutQuery> {
  const token = a.token;
  if (!(token instanceof Uint8Array)) return fail('missing or non-string argument "token"');
  if (a.v === undefined) return fail('missing argument "v"');
  const k = optionalBytes(a, 'k');
  const sig = optionalBytes(a, 'sig');
  const salt = optionalBytes(a, 'salt');
  const seq = optionalInt(a, 'seq');
  const cas = optionalInt(a, 'cas');
  for (const problem of [k, sig, salt, seq, cas]) if (typeof problem === 'string') return fail(problem);
  return {
    ok: true,
    query: {
      method: 'put',
      id,
      token,
      v: encode(a.v as BValue),
      k: k as Uint8Array | undefined,
      sig: sig as Uint8Array | undefined,
      salt: salt as Uint8Array | undefined,
      seq: seq as number | undefined,
      cas: cas as number | undefined,
    },
  };
}
