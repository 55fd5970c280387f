/**
 * BEP 44 items over the API: GET /api/items/{target}?salt= reads and verifies an item;
 * POST /api/items stores an immutable item, or a mutable one signed with a seed from the body.
 */
import type { Dht } from '../../node/dht.js';
import { keypairFromSeed } from '../../protocols/mainline/bep44.js';
import { fromHex, toHex } from '../../util/bytes.js';
import { type ApiRequest, type ApiResponse, HttpError, json } from './types.js';
import { hex20, jsonBody, onlyFields, optionalInt, timeoutMs, valueBytes } from './validate.js';

const TIMEOUT_S = 30;
const MAX_TIMEOUT_S = 120;

export type Slot = <T>(fn: () => Promise<T>) => Promise<T>;

function optionalString(value: unknown, field: string, maxBytes: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || Buffer.byteLength(value) > maxBytes)
    throw new HttpError(422, 'INVALID_FIELD', `${field} must be a string of at most ${maxBytes} bytes`);
  return value;
}

export async function getItem(
  dht: Dht,
  slot: Slot,
  target: string,
  query: URLSearchParams,
): Promise<ApiResponse> {
  const bytes = hex20(target, 'target');
  const salt = query.get('salt') ?? undefined;
  const ms = timeoutMs(query.get('timeout') ?? undefined, TIMEOUT_S, MAX_TIMEOUT_S);
  const item = await slot(() => dht.get(bytes, { salt, timeoutMs: ms }));
  if (!item) {
    throw new HttpError(
      404,
      'NOT_FOUND',
      `no node holds a valid item for ${target}${salt === undefined ? ' (a mutable item also needs ?salt=)' : ''}`,
    );
  }
  const raw = item.v instanceof Uint8Array ? item.v : undefined;
  const text = raw ? new TextDecoder('utf-8', { fatal: false }).decode(raw) : undefined;
  return json(200, {
    target: toHex(bytes),
    value:
      text !== undefined && Buffer.from(text, 'utf8').equals(Buffer.from(raw as Uint8Array)) ? text : null,
    valueBencodedHex: toHex(item.encoded),
    seq: item.seq ?? null,
    publicKey: item.k ? toHex(item.k) : null,
    verifiedBy: item.verifiedBy,
  });
}

export async function putItem(dht: Dht, slot: Slot, req: ApiRequest): Promise<ApiResponse> {
  const body = jsonBody(req.headers, req.body);
  onlyFields(body, ['value', 'encoding', 'mutable', 'timeout']);
  const v = valueBytes(body.value, body.encoding, ['utf8', 'hex']);
  const ms = timeoutMs(body.timeout, TIMEOUT_S, MAX_TIMEOUT_S);
  if (body.mutable === undefined) {
    const result = await slot(() => dht.putImmutable(v, { timeoutMs: ms, republish: false }));
    return json(200, {
      target: toHex(result.target),
      storedOn: result.storedOn,
      candidates: result.candidates,
    });
  }
  const m = body.mutable;
  if (m === null || typeof m !== 'object' || Array.isArray(m))
    throw new HttpError(422, 'INVALID_FIELD', 'mutable must be an object {seed, salt?, seq?, cas?}');
  const mutable = m as Record<string, unknown>;
  for (const key of Object.keys(mutable)) {
    if (!['seed', 'salt', 'seq', 'cas'].includes(key))
      throw new HttpError(
        422,
        'UNKNOWN_FIELD',
        `unknown field "mutable.${key}"; allowed: seed, salt, seq, cas`,
      );
  }
  const seed = typeof mutable.seed === 'string' ? fromHex(mutable.seed) : undefined;
  if (!seed || seed.length !== 32)
    throw new HttpError(422, 'INVALID_FIELD', 'mutable.seed must be 64 hex characters (the ed25519 seed)');
  const keyPair = keypairFromSeed(seed);
  const salt = optionalString(mutable.salt, 'mutable.salt', 64);
  const seq = optionalInt(mutable.seq, 'mutable.seq', 0, Number.MAX_SAFE_INTEGER);
  const cas = optionalInt(mutable.cas, 'mutable.cas', 0, Number.MAX_SAFE_INTEGER);
  // The daemon keeps re-putting items published through it, as the library does for its callers.
  const result = await slot(() => dht.putMutable({ keyPair, v, salt, seq, cas, timeoutMs: ms }));
  return json(200, {
    target: toHex(result.target),
    publicKey: toHex(keyPair.publicKey),
    seq: result.seq ?? null,
    storedOn: result.storedOn,
    candidates: result.candidates,
  });
}
