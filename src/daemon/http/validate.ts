/** Request validation: every failure is an HttpError that names the field and the rule. */
import { fromHex } from '../../util/bytes.js';
import { HttpError } from './types.js';

/** Request bodies larger than this are refused (413). */
export const MAX_BODY_BYTES = 16 * 1024;

/** Parse a JSON object body; 415 for another content type, 400 for bad JSON or a non-object. */
export function jsonBody(
  headers: Readonly<Record<string, string | undefined>>,
  body: Uint8Array | undefined,
): Record<string, unknown> {
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'send the body as JSON with "content-type: application/json"',
    );
  if (!body || body.length === 0)
    throw new HttpError(400, 'EMPTY_BODY', 'the request body is empty; send a JSON object');
  if (body.length > MAX_BODY_BYTES)
    throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'BAD_JSON', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'BAD_BODY', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Reject fields the endpoint does not know, so typos do not pass silently. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key))
      throw new HttpError(422, 'UNKNOWN_FIELD', `unknown field "${key}"; allowed: ${allowed.join(', ')}`);
  }
}

export function hex20(value: unknown, field: string): Uint8Array {
  const bytes = typeof value === 'string' ? fromHex(value) : undefined;
  if (!bytes || bytes.length !== 20)
    throw new HttpError(
      typeof value === 'undefined' ? 400 : 422,
      'INVALID_FIELD',
      `${field} must be 40 hex characters (20 bytes), got ${JSON.stringify(value) ?? 'nothing'}`,
    );
  return bytes;
}

export function optionalInt(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new HttpError(
      422,
      'INVALID_FIELD',
      `${field} must be a whole number ${min}-${max}, got ${JSON.stringify(value)}`,
    );
  return value;
}

export function optionalBool(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw new HttpError(422, 'INVALID_FIELD', `${field} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** A timeout in seconds from a query string or body, as ms (default and cap in seconds). */
export function timeoutMs(value: unknown, fallbackS: number, maxS: number): number {
  if (value === undefined || value === null) return fallbackS * 1000;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > maxS)
    throw new HttpError(
      422,
      'INVALID_FIELD',
      `timeout must be seconds in (0, ${maxS}], got ${JSON.stringify(value)}`,
    );
  return Math.round(n * 1000);
}

/** Longest raw text quoted back in an encoding error. */
const MAX_QUOTED_CHARS = 100;

/**
 * Percent-decode one path segment or query part. decodeURIComponent throws on "%ZZ" or bytes that
 * are not UTF-8; that is the client's mistake, so it becomes a 400 naming the part.
 */
export function decodePart(raw: string, what: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    const quoted = JSON.stringify(
      raw.length > MAX_QUOTED_CHARS ? `${raw.slice(0, MAX_QUOTED_CHARS)}...` : raw,
    );
    throw new HttpError(
      400,
      'BAD_ENCODING',
      `${what} ${quoted} is not valid percent-encoding: write each byte as "%" and two hex digits, ` +
        'and text as UTF-8 (e.g. %C3%A9 for \u00e9)',
    );
  }
}

/**
 * Split a request target into its path (dot segments resolved, still percent-encoded) and its
 * query, decoded strictly. URLSearchParams would pass "%ZZ" through as those three characters,
 * so a malformed salt or timeout would be used as written instead of refused.
 */
export function parseTarget(target: string): { path: string; query: URLSearchParams } {
  let url: URL;
  try {
    url = new URL(target, 'http://daemon.invalid');
  } catch {
    throw new HttpError(
      400,
      'BAD_TARGET',
      `cannot parse the request path ${JSON.stringify(target.slice(0, 100))}`,
    );
  }
  const query = new URLSearchParams();
  for (const pair of url.search.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodePart(eq < 0 ? pair : pair.slice(0, eq), 'the query parameter name', true);
    query.append(name, decodePart(eq < 0 ? '' : pair.slice(eq + 1), `query parameter "${name}"`, true));
  }
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  return { path, query };
}

export type ValueEncoding = 'utf8' | 'hex' | 'base64';

/** A JSON `value` string as bytes, in one of the `allowed` encodings (utf8 when none is named). */
export function valueBytes(value: unknown, encoding: unknown, allowed: readonly ValueEncoding[]): Uint8Array {
  if (typeof value !== 'string')
    throw new HttpError(value === undefined ? 400 : 422, 'INVALID_FIELD', 'value must be a string');
  const chosen = encoding ?? 'utf8';
  if (!allowed.includes(chosen as ValueEncoding)) {
    throw new HttpError(
      422,
      'INVALID_FIELD',
      `encoding must be one of ${allowed.map((e) => `"${e}"`).join(', ')}, got ${JSON.stringify(encoding)}`,
    );
  }
  if (chosen === 'utf8') return new TextEncoder().encode(value);
  if (chosen === 'hex') {
    const bytes = fromHex(value);
    if (!bytes) throw new HttpError(422, 'INVALID_FIELD', 'value is not hex (encoding "hex")');
    return bytes;
  }
  // Buffer.from skips what is not base64; a strict check keeps a typo from storing garbage.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0)
    throw new HttpError(422, 'INVALID_FIELD', 'value is not padded base64 (encoding "base64")');
  return new Uint8Array(Buffer.from(value, 'base64'));
}
