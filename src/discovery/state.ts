/**
 * The discovery server's rules over its store: dmsg entries (sequence and time rules, §5.2),
 * transports by id and by edge (§6.3), services by address and type (§6.4), and the SW-Nonce
 * counter of each key (§6.1). Every accepted write is reported to `onWrite`, which mirrors it into
 * the overlay. Writes to one key are serialised here; nothing is stored on a refusal.
 */
import {
  decodeEntry,
  type DiscEntry,
  encodeEntry,
  type EntryCheckFailure,
  validateEntry,
  validateIteration,
} from '../protocols/discovery/entry.js';
import {
  canonicalServiceType,
  decodeService,
  type Service,
  serviceAddress,
  serviceToJson,
} from '../protocols/discovery/service.js';
import {
  decodeSignedTransport,
  formatUuid,
  type SignedTransport,
  transportToJson,
} from '../protocols/discovery/transport-entry.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { decodeJson, stringifyJson } from '../wire/json.js';
import { MAX_SERVICES_PER_VISOR } from '../protocols/discovery/dht-values.js';
import type { DiscoveryKv } from './kv.js';

/** Entries live this long after their last post (dmsg's suggested client TTL: 60 minutes). */
export const ENTRY_TTL_MS = 60 * 60_000;
/** With `?timeout=true` (dmsg's legacy flag): 3 minutes. */
export const SHORT_ENTRY_TTL_MS = 3 * 60_000;
/** Transports and services are re-registered every 90 s by visors; they live this long. */
export const REGISTRATION_TTL_MS = 10 * 60_000;
/** Keys one listing reads at most. */
export const MAX_LISTING = 100_000;
/** available_servers answers at most this many (dmsg: 512). */
export const MAX_AVAILABLE_SERVERS = 512;
/** Transports one edge may have. */
export const MAX_TRANSPORTS_PER_EDGE = 10_000;
/** Server listings are computed at most this often (dmsg caches servers/clients for 15 s). */
export const SERVER_CACHE_MS = 15_000;

export type WriteEvent =
  | { kind: 'dmsg'; subject: Uint8Array; entry: DiscEntry | undefined }
  | { kind: 'tp'; subject: Uint8Array; transports: SignedTransport[] }
  | { kind: 'svc'; subject: Uint8Array; services: Service[] };

export type PostEntryResult =
  | { ok: true; created: boolean }
  | { ok: false; status: 401 | 422; message: string; code: EntryCheckFailure['code'] };

export class DiscoveryState {
  private readonly locks = new Map<string, Promise<unknown>>();
  private serverCache: { at: number; servers: DiscEntry[] } | undefined;

  constructor(
    readonly kv: DiscoveryKv,
    private readonly clock: Clock,
    private readonly onWrite: (event: WriteEvent) => void = () => undefined,
  ) {}

  /** Run `fn` after every earlier call for `key` has finished (bounded: one entry per busy key). */
  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private nowNs(): bigint {
    return BigInt(Math.round(this.clock.now())) * 1_000_000n;
  }

  // --- dmsg entries --------------------------------------------------------------------------

  async getEntry(pk: Uint8Array): Promise<DiscEntry | undefined> {
    const text = await this.kv.get('entry', toHex(pk), this.clock.now());
    return text === undefined ? undefined : parseEntry(text);
  }

  async postEntry(entry: DiscEntry, shortTtl = false): Promise<PostEntryResult> {
    // Server entries must carry a current timestamp (dmsg's window); clients' are not checked here.
    const check = validateEntry(entry, entry.server ? this.nowNs() : undefined);
    if (!check.ok) {
      return {
        ok: false,
        status: check.code === 'BAD_SIGNATURE' ? 401 : 422,
        message: check.message,
        code: check.code,
      };
    }
    const key = toHex(entry.static);
    return this.locked(`entry:${key}`, async () => {
      const old = await this.getEntry(entry.static);
      if (old) {
        const iteration = validateIteration(old, entry);
        if (!iteration.ok)
          return { ok: false, status: 422, message: iteration.message, code: iteration.code };
      }
      const now = this.clock.now();
      await this.kv.set(
        'entry',
        key,
        encodeEntry(entry),
        now,
        now + (shortTtl ? SHORT_ENTRY_TTL_MS : ENTRY_TTL_MS),
      );
      if (entry.server) this.serverCache = undefined;
      this.onWrite({ kind: 'dmsg', subject: entry.static, entry });
      return { ok: true, created: old === undefined };
    });
  }

  /** Delete when `entry` is signed by its key; the stored one is what goes. */
  async deleteEntry(entry: DiscEntry): Promise<PostEntryResult> {
    const check = validateEntry(entry);
    if (!check.ok) {
      return {
        ok: false,
        status: check.code === 'BAD_SIGNATURE' ? 401 : 422,
        message: check.message,
        code: check.code,
      };
    }
    return this.locked(`entry:${toHex(entry.static)}`, async () => {
      const removed = await this.kv.delete('entry', toHex(entry.static));
      this.serverCache = undefined;
      if (removed) this.onWrite({ kind: 'dmsg', subject: entry.static, entry: undefined });
      return { ok: true, created: false };
    });
  }

  async entryKeys(limit = MAX_LISTING): Promise<string[]> {
    return this.kv.keys('entry', Math.min(limit, MAX_LISTING), this.clock.now());
  }

  async entriesByKeys(keys: readonly string[]): Promise<Map<string, DiscEntry>> {
    const texts = await this.kv.getMany('entry', keys, this.clock.now());
    const out = new Map<string, DiscEntry>();
    keys.forEach((k, i) => {
      const e = texts[i] === undefined ? undefined : parseEntry(texts[i] as string);
      if (e) out.set(k, e);
    });
    return out;
  }

  /** Every server entry (cached for SERVER_CACHE_MS). */
  async servers(): Promise<DiscEntry[]> {
    const now = this.clock.now();
    if (this.serverCache && now - this.serverCache.at < SERVER_CACHE_MS) return this.serverCache.servers;
    const all = await this.entriesByKeys(await this.entryKeys());
    const servers = [...all.values()].filter((e) => e.server !== undefined);
    this.serverCache = { at: now, servers };
    return servers;
  }

  async availableServers(): Promise<DiscEntry[]> {
    return (await this.servers())
      .filter((e) => (e.server?.availableSessions ?? 0) > 0)
      .slice(0, MAX_AVAILABLE_SERVERS);
  }

  /** Client keys by the server they delegate to. */
  async clientsByServer(): Promise<Map<string, string[]>> {
    const all = await this.entriesByKeys(await this.entryKeys());
    const out = new Map<string, string[]>();
    for (const [pk, e] of all) {
      for (const server of e.client?.delegatedServers ?? []) {
        const s = toHex(server);
        const list = out.get(s) ?? [];
        list.push(pk);
        out.set(s, list);
      }
    }
    return out;
  }

  // --- transports ----------------------------------------------------------------------------

  async transportById(id: Uint8Array): Promise<SignedTransport | undefined> {
    const text = await this.kv.get('tp', formatUuid(id), this.clock.now());
    return text === undefined ? undefined : parseTransport(text);
  }

  async transportsByEdge(edge: Uint8Array): Promise<SignedTransport[]> {
    const now = this.clock.now();
    const ids = parseIds(await this.kv.get('tpe', toHex(edge), now));
    const texts = await this.kv.getMany('tp', ids, now);
    const out: SignedTransport[] = [];
    for (const text of texts) {
      const t = text === undefined ? undefined : parseTransport(text);
      if (t) out.push(t);
    }
    return out;
  }

  /** Store checked transports (the caller verified signatures and that it is an edge). */
  async registerTransports(transports: readonly SignedTransport[]): Promise<SignedTransport[]> {
    const now = this.clock.now();
    const stored: SignedTransport[] = [];
    const touched = new Map<string, Uint8Array>();
    for (const t of transports) {
      const registered = { ...t, registered: t.registered === 0n ? this.nowNs() : t.registered };
      await this.kv.set(
        'tp',
        formatUuid(t.entry.id),
        stringifyJson(transportToJson(registered)),
        now,
        now + REGISTRATION_TTL_MS,
      );
      stored.push(registered);
      for (const edge of t.entry.edges) {
        await this.locked(`tpe:${toHex(edge)}`, () => this.addToEdge(edge, formatUuid(t.entry.id)));
        touched.set(toHex(edge), edge);
      }
    }
    await this.reportEdges(touched);
    return stored;
  }

  private async addToEdge(edge: Uint8Array, id: string): Promise<void> {
    const now = this.clock.now();
    const ids = parseIds(await this.kv.get('tpe', toHex(edge), now));
    if (ids.includes(id)) return;
    // Drop ids whose transport expired, then make room by dropping the oldest.
    const live = await this.kv.getMany('tp', ids, now);
    const kept = ids.filter((_id, i) => live[i] !== undefined);
    kept.push(id);
    while (kept.length > MAX_TRANSPORTS_PER_EDGE) kept.shift();
    await this.kv.set('tpe', toHex(edge), JSON.stringify(kept), now);
  }

  /** Delete a transport; `by` must be one of its edges. */
  async deleteTransport(id: Uint8Array, by: Uint8Array): Promise<'deleted' | 'not-found' | 'not-edge'> {
    const t = await this.transportById(id);
    if (!t) return 'not-found';
    if (!t.entry.edges.some((e) => bytesEqual(e, by))) return 'not-edge';
    await this.kv.delete('tp', formatUuid(id));
    const touched = new Map<string, Uint8Array>();
    for (const edge of t.entry.edges) {
      await this.locked(`tpe:${toHex(edge)}`, async () => {
        const now = this.clock.now();
        const ids = parseIds(await this.kv.get('tpe', toHex(edge), now)).filter((x) => x !== formatUuid(id));
        await this.kv.set('tpe', toHex(edge), JSON.stringify(ids), now);
      });
      touched.set(toHex(edge), edge);
    }
    await this.reportEdges(touched);
    return 'deleted';
  }

  /** Mirror the whole list of each touched edge (a list, never one transport: #2334). */
  private async reportEdges(edges: Map<string, Uint8Array>): Promise<void> {
    for (const edge of edges.values()) {
      this.onWrite({ kind: 'tp', subject: edge, transports: await this.transportsByEdge(edge) });
    }
  }

  async allTransports(limit = MAX_LISTING): Promise<SignedTransport[]> {
    const now = this.clock.now();
    const ids = await this.kv.keys('tp', Math.min(limit, MAX_LISTING), now);
    const texts = await this.kv.getMany('tp', ids, now);
    return texts.flatMap((t) => (t === undefined ? [] : (parseTransport(t) ?? [])));
  }

  // --- services ------------------------------------------------------------------------------

  /** Add or replace a service (same type and port) in its visor's list. */
  async putService(service: Service): Promise<void> {
    const pk = toHex(service.publicKey);
    await this.locked(`svc:${pk}`, async () => {
      const list = (await this.servicesOf(service.publicKey)).filter(
        (s) => !(s.type === service.type && s.port === service.port),
      );
      list.push(service);
      await this.saveServices(service.publicKey, list.slice(-MAX_SERVICES_PER_VISOR));
    });
  }

  async deleteService(addr: { publicKey: Uint8Array; port: number }, type: string): Promise<boolean> {
    const want = canonicalServiceType(type);
    return this.locked(`svc:${toHex(addr.publicKey)}`, async () => {
      const list = await this.servicesOf(addr.publicKey);
      const kept = list.filter((s) => !(s.port === addr.port && (type === '' || s.type === want)));
      if (kept.length === list.length) return false;
      await this.saveServices(addr.publicKey, kept);
      return true;
    });
  }

  private async saveServices(publicKey: Uint8Array, list: Service[]): Promise<void> {
    const now = this.clock.now();
    if (list.length === 0) await this.kv.delete('svc', toHex(publicKey));
    else {
      await this.kv.set(
        'svc',
        toHex(publicKey),
        stringifyJson(list.map(serviceToJson)),
        now,
        now + REGISTRATION_TTL_MS,
      );
    }
    this.onWrite({ kind: 'svc', subject: publicKey, services: list });
  }

  async servicesOf(publicKey: Uint8Array): Promise<Service[]> {
    return parseServices(await this.kv.get('svc', toHex(publicKey), this.clock.now()));
  }

  /** Services of every visor, filtered by type and address. */
  async services(filter: { type?: string; addr?: string }, limit = MAX_LISTING): Promise<Service[]> {
    const now = this.clock.now();
    const type = filter.type ? canonicalServiceType(filter.type) : undefined;
    const keys = await this.kv.keys('svc', MAX_LISTING, now);
    const out: Service[] = [];
    for (let i = 0; i < keys.length && out.length < limit; i += 500) {
      for (const text of await this.kv.getMany('svc', keys.slice(i, i + 500), now)) {
        for (const s of parseServices(text)) {
          if ((!type || s.type === type) && (!filter.addr || serviceAddress(s) === filter.addr)) out.push(s);
        }
      }
    }
    return out.slice(0, limit);
  }

  // --- SW-Nonce ------------------------------------------------------------------------------

  async nextNonce(pk: Uint8Array): Promise<bigint> {
    const text = await this.kv.get('nonce', toHex(pk), this.clock.now());
    return text === undefined ? 0n : BigInt(text);
  }

  /** Spend `nonce` if it is the key's next one; false when it is not (a replay or a stale client). */
  async consumeNonce(pk: Uint8Array, nonce: bigint): Promise<boolean> {
    return this.locked(`nonce:${toHex(pk)}`, async () => {
      if ((await this.nextNonce(pk)) !== nonce) return false;
      await this.kv.set('nonce', toHex(pk), (nonce + 1n).toString(), this.clock.now());
      return true;
    });
  }
}

function parseEntry(text: string): DiscEntry | undefined {
  const parsed = decodeJson(text);
  if (!parsed.ok) return undefined;
  const e = decodeEntry(parsed.value);
  return e.ok ? e.value : undefined;
}

function parseTransport(text: string): SignedTransport | undefined {
  const parsed = decodeJson(text);
  if (!parsed.ok) return undefined;
  const t = decodeSignedTransport(parsed.value);
  return t.ok ? t.value : undefined;
}

function parseServices(text: string | undefined): Service[] {
  if (text === undefined) return [];
  const parsed = decodeJson(text);
  if (!parsed.ok || !Array.isArray(parsed.value)) return [];
  return parsed.value.flatMap((row) => {
    const s = decodeService(row);
    return s.ok ? [s.value] : [];
  });
}

function parseIds(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
