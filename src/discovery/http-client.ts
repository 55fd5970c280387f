/**
 * A client of the discovery server's HTTP API (dmsg-discovery, TPD, SD). Signed requests fetch
 * the key's nonce once, count it up locally after every answer that is not a 401, and fetch it
 * again (one retry) after a 401, as Skywire's httpauth client does.
 */
import { signRequest } from '../protocols/discovery/auth.js';
import { decodeEntry, type DiscEntry, encodeEntry, signEntry } from '../protocols/discovery/entry.js';
import { decodeService, type Service, serviceToJson } from '../protocols/discovery/service.js';
import {
  decodeSignedTransport,
  type SignedTransport,
  transportToJson,
} from '../protocols/discovery/transport-entry.js';
import { toHex } from '../util/bytes.js';
import { KadmiumError } from '../util/errors.js';
import { decodeJson, type JsonValue, stringifyJson } from '../wire/json.js';

/** Per-request time limit. */
export const HTTP_REQUEST_TIMEOUT_MS = 10_000;
/** Nonce counters kept (one per signing key). */
const MAX_NONCES = 1_024;

export interface Signer {
  publicKey: Uint8Array;
  sign(payload: Uint8Array): Uint8Array;
}

export class DiscoveryHttpError extends KadmiumError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(status === 404 ? 'NOT_FOUND' : status === 0 ? 'UNREACHABLE' : 'HTTP_ERROR', message);
  }
}

const utf8 = new TextEncoder();

export class DiscoveryHttpClient {
  private readonly nonces = new Map<string, bigint>();

  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = HTTP_REQUEST_TIMEOUT_MS,
  ) {}

  private async call(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: JsonValue | undefined; text: string }> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new DiscoveryHttpError(
        0,
        `discovery server ${this.baseUrl} unreachable: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    const parsed = decodeJson(text);
    return { status: res.status, json: parsed.ok ? parsed.value : undefined, text };
  }

  private fail(r: { status: number; json: JsonValue | undefined; text: string }, what: string): never {
    const o = r.json as Record<string, JsonValue> | undefined;
    const inner =
      o && typeof o.error === 'object' && o.error !== null
        ? (o.error as Record<string, JsonValue>).message
        : undefined;
    const message = String(o?.message ?? inner ?? o?.error ?? r.text.slice(0, 200));
    throw new DiscoveryHttpError(r.status, `${what}: ${r.status} ${message}`);
  }

  private async signed(
    signer: Signer,
    method: string,
    path: string,
    body: string,
  ): Promise<{ status: number; json: JsonValue | undefined; text: string }> {
    const key = toHex(signer.publicKey);
    for (let attempt = 0; attempt < 2; attempt++) {
      let nonce = this.nonces.get(key);
      if (nonce === undefined) {
        const r = await this.call('GET', `/security/nonces/${key}`);
        const n = (r.json as Record<string, JsonValue> | undefined)?.next_nonce;
        if (r.status !== 200 || (typeof n !== 'number' && typeof n !== 'bigint')) this.fail(r, 'nonce');
        nonce = BigInt(n);
      }
      const r = await this.call(method, path, body, signRequest(utf8.encode(body), nonce, signer));
      if (r.status === 401) {
        this.nonces.delete(key);
        continue;
      }
      if (this.nonces.size >= MAX_NONCES && !this.nonces.has(key)) this.nonces.clear();
      this.nonces.set(key, nonce + 1n);
      return r;
    }
    return this.call(method, path, body, {}); // unsigned: answers the 401 with its reason
  }

  // --- dmsg ---

  async entry(pk: Uint8Array): Promise<DiscEntry> {
    const r = await this.call('GET', `/dmsg-discovery/entry/${toHex(pk)}`);
    if (r.status !== 200 || r.json === undefined) this.fail(r, 'entry');
    const e = decodeEntry(r.json);
    if (!e.ok)
      throw new DiscoveryHttpError(502, `entry: the server sent a bad entry (${e.field} ${e.message})`);
    return e.value;
  }

  async postEntry(entry: DiscEntry): Promise<void> {
    const r = await this.call('POST', '/dmsg-discovery/entry/', encodeEntry(entry));
    if (r.status !== 200) this.fail(r, 'post entry');
  }

  /**
   * dmsg's PutEntry: the next sequence, now as timestamp, signed; on a sequence refusal, read the
   * stored entry and go one past it (at most 5 tries).
   */
  async putEntry(signer: Signer, entry: DiscEntry, nowNs: bigint): Promise<DiscEntry> {
    let next = signEntry({ ...entry, sequence: entry.sequence + 1n, timestamp: nowNs }, signer);
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await this.call('POST', '/dmsg-discovery/entry/', encodeEntry(next));
      if (r.status === 200) return next;
      const message = String((r.json as Record<string, JsonValue> | undefined)?.message ?? '');
      if (r.status !== 422 || !message.includes('sequence')) this.fail(r, 'put entry');
      const remote = await this.entry(entry.static);
      next = signEntry(
        {
          ...next,
          sequence: remote.sequence + 1n,
          timestamp: nowNs > remote.timestamp ? nowNs : remote.timestamp,
        },
        signer,
      );
    }
    throw new DiscoveryHttpError(422, 'put entry: the sequence kept moving; try again');
  }

  async delEntry(entry: DiscEntry): Promise<void> {
    const r = await this.call('DELETE', '/dmsg-discovery/entry', encodeEntry(entry));
    if (r.status !== 200) this.fail(r, 'delete entry');
  }

  private async entryList(path: string): Promise<DiscEntry[]> {
    const r = await this.call('GET', path);
    if (r.status === 404) return [];
    if (r.status !== 200 || !Array.isArray(r.json)) this.fail(r, path);
    return r.json.flatMap((row) => {
      const e = decodeEntry(row);
      return e.ok ? [e.value] : [];
    });
  }

  availableServers(): Promise<DiscEntry[]> {
    return this.entryList('/dmsg-discovery/available_servers');
  }

  allServers(): Promise<DiscEntry[]> {
    return this.entryList('/dmsg-discovery/all_servers');
  }

  async allEntries(): Promise<string[]> {
    const r = await this.call('GET', '/dmsg-discovery/entries');
    if (r.status !== 200 || !Array.isArray(r.json)) this.fail(r, 'entries');
    return r.json.filter((k): k is string => typeof k === 'string');
  }

  async clientsByServer(server: Uint8Array): Promise<string[]> {
    const r = await this.call('GET', `/dmsg-discovery/server/${toHex(server)}/clients`);
    if (r.status !== 200 || !Array.isArray(r.json)) this.fail(r, 'clients');
    return r.json.filter((k): k is string => typeof k === 'string');
  }

  async allClientsByServer(): Promise<Record<string, string[]>> {
    const r = await this.call('GET', '/dmsg-discovery/servers/clients');
    if (r.status !== 200 || typeof r.json !== 'object' || r.json === null) this.fail(r, 'servers/clients');
    return r.json as Record<string, string[]>;
  }

  // --- transports ---

  async registerTransports(
    signer: Signer,
    transports: readonly SignedTransport[],
  ): Promise<SignedTransport[]> {
    const r = await this.signed(
      signer,
      'POST',
      '/transports/',
      stringifyJson(transports.map(transportToJson)),
    );
    if (r.status !== 201 || !Array.isArray(r.json)) this.fail(r, 'register transports');
    return decodeTransports(r.json);
  }

  async deleteTransport(signer: Signer, id: string): Promise<void> {
    const r = await this.signed(signer, 'DELETE', `/transports/id:${id}`, '');
    if (r.status !== 200) this.fail(r, 'delete transport');
  }

  /** The public v3 route: no signature needed. */
  async transportsByEdge(edge: Uint8Array): Promise<SignedTransport[]> {
    const r = await this.call('GET', `/v3/transports/edge:${toHex(edge)}`);
    if (r.status !== 200 || !Array.isArray(r.json)) this.fail(r, 'transports by edge');
    return decodeTransports(r.json);
  }

  // --- services ---

  async registerService(signer: Signer, service: Service): Promise<void> {
    const r = await this.signed(signer, 'POST', '/api/services', stringifyJson(serviceToJson(service)));
    if (r.status !== 200) this.fail(r, 'register service');
  }

  async services(type?: string): Promise<Service[]> {
    const r = await this.call('GET', `/api/services${type ? `?type=${encodeURIComponent(type)}` : ''}`);
    if (r.status !== 200 || !Array.isArray(r.json)) this.fail(r, 'services');
    return r.json.flatMap((row) => {
      const s = decodeService(row);
      return s.ok ? [s.value] : [];
    });
  }

  async health(): Promise<JsonValue> {
    const r = await this.call('GET', '/health');
    if (r.status !== 200) this.fail(r, 'health');
    return r.json ?? null;
  }
}

function decodeTransports(rows: JsonValue[]): SignedTransport[] {
  return rows.flatMap((row) => {
    const t = decodeSignedTransport(row);
    return t.ok ? [t.value] : [];
  });
}
