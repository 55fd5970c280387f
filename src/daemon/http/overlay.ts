/**
 * The overlay over the API: GET /api/overlay/status, POST /api/overlay/items (sign with the node's
 * overlay key and store), GET /api/overlay/items/{pubkey}?salt= (the verified latest item).
 * Seqs are uint64: they travel as decimal strings, never JSON numbers (which lose precision
 * beyond 2^53). Every route answers 404 with how to enable the overlay when it is off.
 */
import type { OverlayGetResult } from '../../node/overlay-node.js';
import { isTombstone, itemTarget, MAX_SALT_BYTES, MAX_SEQ } from '../../protocols/overlay/item.js';
import { fromHex, toHex } from '../../util/bytes.js';
import { systemClock } from '../../util/clock.js';
import type { DaemonOverlay } from '../overlay.js';
import { type ApiRequest, type ApiResponse, HttpError, json } from './types.js';
import { jsonBody, onlyFields, timeoutMs, valueBytes } from './validate.js';
import type { Slot } from './items.js';

const TIMEOUT_S = 30;
const MAX_TIMEOUT_S = 120;
const ENCODINGS = ['utf8', 'base64', 'hex'] as const;

export interface OverlayRoute {
  method: string;
  pattern: RegExp;
  write: boolean;
  handler: (req: ApiRequest, params: string[], query: URLSearchParams) => Promise<ApiResponse>;
}

function enabled(overlay: DaemonOverlay | undefined): DaemonOverlay {
  if (!overlay)
    throw new HttpError(
      404,
      'OVERLAY_DISABLED',
      'the overlay is not running on this daemon; set overlay.enabled = true (or KADMIUM_OVERLAY_ENABLED=true, or --overlay) and restart',
    );
  return overlay;
}

function saltBytes(value: unknown, field: string): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array(0);
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : undefined;
  if (!bytes || bytes.length > MAX_SALT_BYTES)
    throw new HttpError(
      422,
      'INVALID_FIELD',
      `${field} must be text of at most ${MAX_SALT_BYTES} bytes (UTF-8)`,
    );
  return bytes;
}

/** A uint64 as a decimal string ("cas": "17"). */
function seqField(value: unknown, field: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value) || BigInt(value) > MAX_SEQ)
    throw new HttpError(
      422,
      'INVALID_FIELD',
      `${field} must be a decimal string from "0" to "${MAX_SEQ}" (seqs are 64-bit: send them as strings), got ${JSON.stringify(value)}`,
    );
  return BigInt(value);
}

function utf8OrNull(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * node.get, or, while the overlay table is empty (a lone node, or before the join), the copy
 * this node stores itself: node.put keeps items locally when alone, but node.get refuses to
 * run without contacts (NO_NODES), which would hide them.
 */
async function getOrLocal(
  o: DaemonOverlay,
  publicKey: Uint8Array,
  salt: Uint8Array,
  timeoutMs: number,
): Promise<OverlayGetResult | undefined> {
  if (o.node.table.size > 0) return o.node.get(publicKey, { salt, timeoutMs });
  const item = await o.node.store.get(itemTarget(publicKey, salt), systemClock.now());
  return item ? { item, deleted: isTombstone(item), sources: 0, lies: 0 } : undefined;
}

export function overlayStatus(o: DaemonOverlay): Record<string, unknown> {
  const s = o.stats.snapshot();
  return {
    id: toHex(o.node.id),
    publicKey: toHex(o.node.publicKey),
    address: o.address,
    storage: o.storage,
    keyFile: o.keyFile,
    contacts: s.contacts,
    items: s.items,
    rpc: s.rpc,
    inFlight: s.inFlight,
    lookups: s.lookups,
    gets: s.gets,
    puts: s.puts,
    lies: s.lies,
    busy: s.busy,
    badFrames: s.badFrames,
    droppedPeers: s.droppedPeers,
    recentLookups: s.recentLookups,
    recentLies: s.recentLies,
  };
}

export function overlayRoutes(
  overlay: DaemonOverlay | undefined,
  readSlot: Slot,
  writeSlot: Slot,
): OverlayRoute[] {
  return [
    {
      method: 'GET',
      pattern: /^\/api\/overlay\/status$/,
      write: false,
      handler: async () => json(200, overlayStatus(enabled(overlay))),
    },
    {
      method: 'POST',
      pattern: /^\/api\/overlay\/items$/,
      write: true,
      handler: async (req) => {
        const o = enabled(overlay);
        const body = jsonBody(req.headers, req.body);
        onlyFields(body, ['value', 'salt', 'encoding', 'cas', 'timeout']);
        const value = valueBytes(body.value, body.encoding, ENCODINGS);
        const salt = saltBytes(body.salt, 'salt');
        const cas = seqField(body.cas, 'cas');
        const ms = timeoutMs(body.timeout, TIMEOUT_S, MAX_TIMEOUT_S);
        const result = await writeSlot(() =>
          o.node.put(value, { salt, timeoutMs: ms, ...(cas !== undefined ? { cas } : {}) }),
        );
        return json(200, {
          target: toHex(result.target),
          publicKey: toHex(o.node.publicKey),
          seq: result.seq.toString(),
          stored: result.stored,
          asked: result.asked,
          storedLocally: result.storedLocally,
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/overlay\/items\/([^/]+)$/,
      write: false,
      handler: async (_req, [key], query) => {
        const o = enabled(overlay);
        const publicKey = fromHex(key ?? '');
        if (!publicKey || publicKey.length !== 33)
          throw new HttpError(
            422,
            'INVALID_FIELD',
            "the path needs the publisher's 33-byte compressed public key: 66 hex characters",
          );
        const saltText = query.get('salt') ?? undefined;
        const salt = saltBytes(saltText, 'salt');
        const ms = timeoutMs(query.get('timeout') ?? undefined, TIMEOUT_S, MAX_TIMEOUT_S);
        const got = await readSlot(() => getOrLocal(o, publicKey, salt, ms));
        if (!got)
          throw new HttpError(
            404,
            'NOT_FOUND',
            `no node holds a valid item of ${toHex(publicKey)} under salt ${JSON.stringify(saltText ?? '')}`,
          );
        const { item } = got;
        return json(200, {
          target: toHex(itemTarget(item.k, item.salt)),
          publicKey: toHex(item.k),
          salt: utf8OrNull(item.salt) ?? toHex(item.salt),
          seq: item.seq.toString(),
          deleted: got.deleted,
          value: utf8OrNull(item.v),
          valueBase64: Buffer.from(item.v).toString('base64'),
          signature: toHex(item.sig),
          sources: got.sources,
          lies: got.lies,
        });
      },
    },
  ];
}
