/**
 * The discovery server's HTTP API: dmsg-discovery (spec §5.3), transport discovery (§6.3) and
 * service discovery (§6.4), as a function from a request (method, path, headers, body) to a
 * response. Status codes and error bodies follow Skywire's: dmsg routes answer
 * `{"message","code"}`, TPD and SD `{"error":"..."}`, request-auth failures
 * `{"error":{"message","code"}}`.
 *
 * SW-Nonce: a nonce is spent by every request whose signature verifies, whatever it then returns,
 * so no signed request can be replayed (Skywire advanced it only on HTTP 200). Clients count the
 * same way, and fetch the nonce again after a 401.
 */
import { readAuthHeaders, verifyRequest } from '../protocols/discovery/auth.js';
import { decodeEntry, type DiscEntry, encodeEntry } from '../protocols/discovery/entry.js';
import {
  decodeService,
  parseServiceAddress,
  serviceAddress,
  serviceToJson,
} from '../protocols/discovery/service.js';
import {
  checkTransport,
  decodeSignedTransport,
  parseUuid,
  type SignedTransport,
  transportToJson,
} from '../protocols/discovery/transport-entry.js';
import { PUBLIC_KEY_BYTES } from '../protocols/overlay/constants.js';
import { isValidPublicKey } from '../protocols/overlay/identity.js';
import { bytesEqual, fromHex, toHex } from '../util/bytes.js';
import { decodeJson, type JsonValue, stringifyJson } from '../wire/json.js';
import { type DiscoveryState } from './state.js';

/** Largest body of a single-record request (an Entry, a Service). */
export const MAX_RECORD_BODY_BYTES = 64 * 1024;
/** Largest body of a batch request (transports, entries/batch, edges). */
export const MAX_BATCH_BODY_BYTES = 1024 * 1024;
/** Keys one entries/batch or transports/edges request may name. */
export const MAX_BATCH_KEYS = 10_000;
/** Transports one registration may carry. */
export const MAX_REGISTER_TRANSPORTS = 1_000;

export interface DiscoveryRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  /** Lowercase names. */
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export interface DiscoveryResponse {
  status: number;
  body: string;
}

/** Which body limit applies to a request, before its body is read. */
export function bodyLimitFor(method: string, path: string): number {
  if (method === 'GET' || method === 'HEAD') return 0;
  if (path.startsWith('/transports') || path.endsWith('/batch') || path.startsWith('/v3/transports')) {
    return MAX_BATCH_BODY_BYTES;
  }
  return MAX_RECORD_BODY_BYTES;
}

const json = (status: number, value: JsonValue): DiscoveryResponse => ({
  status,
  body: stringifyJson(value),
});
const dmsgMessage = (status: number, message: string): DiscoveryResponse =>
  json(status, { message, code: status });
const tpdError = (status: number, message: string): DiscoveryResponse => json(status, { error: message });
const authError = (message: string): DiscoveryResponse => json(401, { error: { message, code: 401 } });
const entryJson = (e: DiscEntry): string => encodeEntry(e);

function parseKey(text: string | undefined): Uint8Array | undefined {
  if (text === undefined || text.length !== PUBLIC_KEY_BYTES * 2) return undefined;
  const key = fromHex(text);
  return key && isValidPublicKey(key) ? key : undefined;
}

export interface DiscoveryHandlerOptions {
  state: DiscoveryState;
  /** Extra fields for GET /health (store, mirror, overlay). */
  health?: () => Promise<Record<string, JsonValue>>;
}

export function createDiscoveryHandler(
  options: DiscoveryHandlerOptions,
): (req: DiscoveryRequest) => Promise<DiscoveryResponse> {
  const { state } = options;

  /** Check SW-* headers and spend the nonce; the signer's key, or the 401 to send. */
  const authenticate = async (req: DiscoveryRequest): Promise<{ pk: Uint8Array } | DiscoveryResponse> => {
    const auth = readAuthHeaders(req.headers);
    if (!auth.ok) return authError(auth.message);
    if (!verifyRequest(auth.value, req.body)) return authError('invalid signature');
    if (!(await state.consumeNonce(auth.value.publicKey, auth.value.nonce))) {
      return authError('SW-Nonce does not match');
    }
    return { pk: auth.value.publicKey };
  };

  const body = (req: DiscoveryRequest): { ok: true; value: JsonValue } | { ok: false; message: string } => {
    const parsed = decodeJson(req.body);
    return parsed.ok ? parsed : { ok: false, message: `malformed JSON: ${parsed.error}` };
  };

  const routes = async (
    req: DiscoveryRequest,
    path: string,
    query: URLSearchParams,
  ): Promise<DiscoveryResponse> => {
    const m = req.method;
    // --- dmsg-discovery ---
    if (path.startsWith('/dmsg-discovery/')) {
      const rest = path.slice('/dmsg-discovery/'.length);
      if (m === 'GET' && rest.startsWith('entry/')) {
        const pk = parseKey(rest.slice('entry/'.length));
        if (!pk) return dmsgMessage(400, 'error bad input');
        const entry = await state.getEntry(pk);
        return entry
          ? { status: 200, body: entryJson(entry) }
          : dmsgMessage(404, 'entry of public key is not found');
      }
      if (m === 'POST' && (rest === 'entry' || rest === 'entry/' || rest.startsWith('entry/'))) {
        const parsed = body(req);
        if (!parsed.ok) return dmsgMessage(400, parsed.message);
        const entry = decodeEntry(parsed.value);
        if (!entry.ok) return dmsgMessage(400, `error bad input: ${entry.field} ${entry.message}`);
        const inPath = rest.slice('entry/'.length);
        if (inPath !== '' && inPath !== toHex(entry.value.static)) {
          return dmsgMessage(400, "error bad input: the key in the path is not the entry's static key");
        }
        const result = await state.postEntry(entry.value, query.get('timeout') === 'true');
        if (!result.ok) return dmsgMessage(result.status, result.message);
        return dmsgMessage(200, result.created ? 'wrote a new entry' : 'wrote new entry iteration');
      }
      if (m === 'DELETE' && (rest === 'entry' || rest === 'entry/')) {
        const parsed = body(req);
        if (!parsed.ok) return dmsgMessage(400, parsed.message);
        const entry = decodeEntry(parsed.value);
        if (!entry.ok) return dmsgMessage(400, `error bad input: ${entry.field} ${entry.message}`);
        const result = await state.deleteEntry(entry.value);
        return result.ok ? dmsgMessage(200, 'deleted entry') : dmsgMessage(result.status, result.message);
      }
      if (m === 'GET' && rest === 'entries') return json(200, await state.entryKeys());
      if (m === 'POST' && rest === 'entries/batch') {
        const parsed = body(req);
        if (!parsed.ok) return dmsgMessage(400, parsed.message);
        const keys = parsed.value;
        if (
          !Array.isArray(keys) ||
          keys.length > MAX_BATCH_KEYS ||
          !keys.every((k) => typeof k === 'string' && parseKey(k))
        ) {
          return dmsgMessage(
            400,
            `error bad input: the body must be an array of at most ${MAX_BATCH_KEYS} public keys`,
          );
        }
        const found = await state.entriesByKeys(keys as string[]);
        return { status: 200, body: `{${[...found].map(([k, e]) => `"${k}":${entryJson(e)}`).join(',')}}` };
      }
      if (m === 'GET' && rest === 'visorEntries') {
        const all = await state.entriesByKeys(await state.entryKeys());
        return json(
          200,
          [...all].filter(([, e]) => e.client !== undefined).map(([k]) => k),
        );
      }
      if (m === 'GET' && (rest === 'available_servers' || rest === 'all_servers')) {
        const list = rest === 'all_servers' ? await state.servers() : await state.availableServers();
        if (list.length === 0) return dmsgMessage(404, 'no servers available');
        return { status: 200, body: `[${list.map(entryJson).join(',')}]` };
      }
      if (m === 'GET' && rest === 'servers/clients') {
        return json(200, Object.fromEntries(await state.clientsByServer()));
      }
      const clients = /^server\/([0-9a-fA-F]+)\/clients$/.exec(rest);
      if (m === 'GET' && clients) {
        const pk = parseKey(clients[1]);
        if (!pk) return dmsgMessage(400, 'error bad input');
        return json(200, (await state.clientsByServer()).get(toHex(pk)) ?? []);
      }
      return dmsgMessage(404, 'no such route');
    }

    // --- request auth ---
    const nonce = /^\/security\/nonces\/([0-9a-fA-F]+)$/.exec(path);
    if (m === 'GET' && nonce) {
      const pk = parseKey(nonce[1]);
      if (!pk) return tpdError(400, 'invalid public key');
      return json(200, { edge: toHex(pk), next_nonce: await state.nextNonce(pk) });
    }

    // --- transport discovery ---
    if (m === 'POST' && path === '/statuses') return tpdError(410, 'statuses are gone; use GET /v4/update');
    if (m === 'GET' && path === '/all-transports') {
      return json(200, (await state.allTransports()).map(transportToJson));
    }
    const v3edge = /^\/v3\/transports\/edge:([0-9a-fA-F]+)$/.exec(path);
    if (m === 'GET' && v3edge) {
      const edge = parseKey(v3edge[1]);
      if (!edge) return tpdError(400, 'invalid edge public key');
      return json(200, (await state.transportsByEdge(edge)).map(transportToJson));
    }
    if (m === 'POST' && path === '/transports/edges') {
      const parsed = body(req);
      if (!parsed.ok) return tpdError(400, parsed.message);
      const keys =
        Array.isArray(parsed.value) && parsed.value.length <= MAX_BATCH_KEYS
          ? parsed.value.map((k) => (typeof k === 'string' ? parseKey(k) : undefined))
          : undefined;
      if (!keys || keys.some((k) => k === undefined))
        return tpdError(400, `the body must be an array of at most ${MAX_BATCH_KEYS} public keys`);
      const out: JsonValue[] = [];
      for (const k of keys as Uint8Array[])
        out.push(...(await state.transportsByEdge(k)).map(transportToJson));
      return json(200, out);
    }
    if (path.startsWith('/transports/')) {
      const auth = await authenticate(req);
      if ('status' in auth) return auth;
      const rest = path.slice('/transports/'.length);
      if (m === 'GET' && rest.startsWith('id:')) {
        const id = parseUuid(rest.slice(3));
        if (!id) return tpdError(400, 'invalid transport id');
        const t = await state.transportById(id);
        return t ? json(200, transportToJson(t)) : tpdError(404, 'transport not found');
      }
      if (m === 'GET' && rest.startsWith('edge:')) {
        const edge = parseKey(rest.slice(5));
        if (!edge) return tpdError(400, 'invalid edge public key');
        const list = await state.transportsByEdge(edge);
        return list.length > 0 ? json(200, list.map(transportToJson)) : tpdError(404, 'transport not found');
      }
      if (m === 'POST' && rest === '') {
        const parsed = body(req);
        if (!parsed.ok) return tpdError(400, parsed.message);
        if (
          !Array.isArray(parsed.value) ||
          parsed.value.length === 0 ||
          parsed.value.length > MAX_REGISTER_TRANSPORTS
        ) {
          return tpdError(
            400,
            `the body must be an array of 1 to ${MAX_REGISTER_TRANSPORTS} signed transport entries`,
          );
        }
        const checked: SignedTransport[] = [];
        for (const [i, row] of parsed.value.entries()) {
          const t = decodeSignedTransport(row);
          if (!t.ok) return tpdError(400, `entry ${i}: ${t.field} ${t.message}`);
          const check = checkTransport(t.value);
          if (!check.ok) return tpdError(400, `entry ${i}: ${check.message}`);
          if (!t.value.entry.edges.some((e) => bytesEqual(e, auth.pk))) {
            return tpdError(400, `entry ${i}: the SW-Public key is not one of its edges`);
          }
          checked.push(t.value);
        }
        const stored = await state.registerTransports(checked);
        return json(201, stored.map(transportToJson));
      }
      if (m === 'DELETE' && rest.startsWith('id:')) {
        const id = parseUuid(rest.slice(3));
        if (!id) return tpdError(400, 'invalid transport id');
        const result = await state.deleteTransport(id, auth.pk);
        if (result === 'not-found') return tpdError(404, 'transport not found');
        if (result === 'not-edge') return tpdError(400, 'only an edge of the transport may delete it');
        return json(200, { deleted: true });
      }
      return tpdError(404, 'no such route');
    }

    // --- service discovery ---
    if (path === '/api/services' || path.startsWith('/api/services/')) {
      const addrText =
        path === '/api/services' ? undefined : decodeURIComponent(path.slice('/api/services/'.length));
      const type = query.get('type') ?? '';
      if (m === 'GET') {
        const limit = Math.min(Number(query.get('quantity') ?? '') || 100_000, 100_000);
        const list = await state.services(
          { ...(type ? { type } : {}), ...(addrText ? { addr: addrText } : {}) },
          limit,
        );
        const country = query.get('country');
        const version = query.get('version');
        const filtered = list.filter(
          (s) => (!country || s.geo?.country === country) && (!version || s.version === version),
        );
        if (addrText && filtered.length === 0) return tpdError(404, 'service not found');
        return json(200, filtered.map(serviceToJson));
      }
      const auth = await authenticate(req);
      if ('status' in auth) return auth;
      if (m === 'POST' && addrText === undefined) {
        const parsed = body(req);
        if (!parsed.ok) return tpdError(400, parsed.message);
        const service = decodeService(parsed.value);
        if (!service.ok) return tpdError(400, `${service.field} ${service.message}`);
        if (!bytesEqual(service.value.publicKey, auth.pk)) {
          return tpdError(401, "the service address must be the SW-Public key's");
        }
        await state.putService(service.value);
        return json(200, serviceToJson(service.value));
      }
      if (m === 'DELETE' && addrText !== undefined) {
        const addr = parseServiceAddress(addrText);
        if (!addr) return tpdError(400, 'the address must be PUBKEYHEX:PORT');
        if (!bytesEqual(addr.publicKey, auth.pk))
          return tpdError(401, "only the service's own key may delete it");
        const removed = await state.deleteService(addr, type);
        return removed ? json(200, { deleted: serviceAddress(addr) }) : tpdError(404, 'service not found');
      }
      return tpdError(405, `${m} is not allowed on ${path}`);
    }

    if (m === 'GET' && path === '/health') {
      return json(200, { status: 'ok', ...((await options.health?.()) ?? {}) });
    }
    return tpdError(404, `no route ${m} ${path}`);
  };

  return async (req) => {
    let url: URL;
    try {
      url = new URL(req.url, 'http://discovery.invalid');
    } catch {
      return tpdError(400, 'malformed URL');
    }
    try {
      return await routes(req, url.pathname, url.searchParams);
    } catch (err) {
      // The store failed (Redis down): say so; the server stays up and answers the next request.
      const code = (err as { code?: string }).code;
      if (code === 'STORE_UNAVAILABLE') return json(503, { message: (err as Error).message, code: 503 });
      return json(500, { message: 'something unexpected happened', code: 500 });
    }
  };
}
