/**
 * The overlay's six methods (Skywire's tags 1-6, spec §1.3) as typed requests and responses, with
 * the JSON field names Skywire uses, so a Skywire peer reads what we write. Additions of ours are
 * optional fields a Go peer ignores: `cas` on PutValue. Responses may also be an error
 * (`{"error","code","retry_after_ms"?}`), which Skywire never sent (it closed the stream).
 *
 * `decodeRequest` / `decodeResponse` never throw: any bytes give a typed message or a typed
 * decode error naming the field. Unknown fields are ignored, as Go does.
 */
import { decodeCanonicalClosest } from './canonical-peers.js';
import type { NodeId } from '../../kademlia/id.js';
import {
  decodeJson,
  encodeJson,
  JSON_MAX_BYTES,
  encodePlainJson,
  type JsonEncodable,
  type JsonObject,
  type JsonValue,
} from '../../wire/json.js';
import * as f from './fields.js';
import type { MutableItem } from './item.js';

export const OverlayTag = {
  ping: 1,
  find_node: 2,
  get_value: 3,
  put_value: 4,
  get_items: 5,
  put_batch: 6,
} as const;

export type OverlayMethod = keyof typeof OverlayTag;
/** A response's tag is its request's tag with this bit set. */
export const RESPONSE_TAG_FLAG = 0x80;
/** Most peers a FindNode / GetValue reply may list (Skywire sends K = 20). */
export const MAX_CLOSEST_PEERS = 64;
/** Most items in a PutBatch or a GetItems reply (Skywire keeps batches under 3 MiB). */
export const MAX_BATCH_ITEMS = 16_384;
/** Largest `limit` / `retry_after_ms` accepted: a Go int32 keeps every peer's arithmetic sane. */
export const MAX_INT32 = 0x7fff_ffff;

const METHODS: readonly OverlayMethod[] = [
  'ping',
  'find_node',
  'get_value',
  'put_value',
  'get_items',
  'put_batch',
];

/** The method of a request or response tag (1-6, or 0x81-0x86), or undefined. */
export function methodOfTag(tag: number): OverlayMethod | undefined {
  return METHODS[(tag & ~RESPONSE_TAG_FLAG) - 1];
}

interface Sender {
  senderId: NodeId;
  senderPk: Uint8Array;
  /**
   * Ours: the port the sender accepts connections on (its host is the connection's). Skywire
   * addressed peers by key over DMSG and needed none; over TCP a contact needs an address.
   */
  senderPort?: number | undefined;
}

export type PingRequest = { method: 'ping' } & Sender;
export type FindNodeRequest = { method: 'find_node'; target: NodeId } & Sender;
export type GetValueRequest = { method: 'get_value'; target: NodeId } & Sender;
export type PutValueRequest = {
  method: 'put_value';
  item: MutableItem;
  /** Skywire's mirror put: store `item` under this target (the subject's), not under its own. */
  mirrorTarget?: NodeId | undefined;
  /** Ours: store only if the current seq at the target is this (compare-and-swap). */
  cas?: bigint | undefined;
} & Sender;
export type GetItemsRequest = {
  method: 'get_items';
  /** Go sends a `string`, not base64: the salt's UTF-8 bytes. Undefined or empty = every salt. */
  salt?: Uint8Array | undefined;
  sinceSeq?: bigint | undefined;
  limit?: number | undefined;
} & Sender;
export type PutBatchRequest = { method: 'put_batch'; items: MutableItem[]; targets: NodeId[] } & Sender;

export type OverlayRequest =
  PingRequest | FindNodeRequest | GetValueRequest | PutValueRequest | GetItemsRequest | PutBatchRequest;

/** Skywire's Peer: {"id","pk","last_seen"}. */
export interface OverlayPeer {
  id: NodeId;
  pk: Uint8Array;
  /** RFC 3339 (Go's time.Time); see timestampFromMs / timestampToMs in fields.ts. */
  lastSeen: string;
  /** Ours: where it accepts connections, "host:port" or "[v6]:port" (absent from Skywire peers). */
  addr?: string | undefined;
}

export type OverlayResponse =
  | { method: 'ping'; responderId: NodeId; responderPk: Uint8Array }
  | { method: 'find_node'; closest: OverlayPeer[] }
  | { method: 'get_value'; item?: MutableItem | undefined; closest: OverlayPeer[] }
  | { method: 'put_value'; stored: boolean; error?: string | undefined }
  | { method: 'get_items'; items: MutableItem[]; targets: NodeId[]; hasMore: boolean }
  | { method: 'put_batch'; stored: boolean[]; errors?: string[] | undefined }
  | OverlayErrorResponse;

/** A refusal, for any method. `code`: BUSY, BAD_REQUEST, UNKNOWN_METHOD, TOO_LARGE, REJECTED, ... */
export interface OverlayErrorResponse {
  method: 'error';
  error: string;
  code: string;
  retryAfterMs?: number | undefined;
}

export type OverlayDecodeErrorCode = 'UNKNOWN_METHOD' | 'BAD_REQUEST' | 'BAD_RESPONSE';

export interface OverlayDecodeError {
  code: OverlayDecodeErrorCode;
  /** The field at fault (`item.sig`, `closest[3].pk`), when one is. */
  field?: string;
  message: string;
}

export type Decoded<T> = { ok: true; message: T } | { ok: false; error: OverlayDecodeError };

function decodeBody<T>(
  tag: number,
  json: Uint8Array,
  code: 'BAD_REQUEST' | 'BAD_RESPONSE',
  read: (method: OverlayMethod, o: JsonObject) => T,
): Decoded<T> {
  const method = methodOfTag(tag);
  if (method === undefined) {
    return {
      ok: false,
      error: { code: 'UNKNOWN_METHOD', message: `unknown method tag ${tag}; known tags are 1-6` },
    };
  }
  const parsed = decodeJson(json);
  if (!parsed.ok) return { ok: false, error: { code, message: `invalid JSON: ${parsed.error}` } };
  try {
    return { ok: true, message: read(method, f.object(parsed.value, 'body')) };
  } catch (err) {
    if (err instanceof f.FieldError) {
      return {
        ok: false,
        error: { code, field: err.field, message: `${method}: "${err.field}" ${err.message}` },
      };
    }
    return { ok: false, error: { code, message: `${method}: ${(err as Error).message}` } };
  }
}

/** A request body for method `tag`, or why it is not one. Never throws. */
export function decodeRequest(tag: number, json: Uint8Array): Decoded<OverlayRequest> {
  return decodeBody(tag, json, 'BAD_REQUEST', readRequest);
}

function readRequest(method: OverlayMethod, o: JsonObject): OverlayRequest {
  const sender: Sender = {
    senderId: f.nodeId(o.sender_id, 'sender_id'),
    senderPk: f.publicKey(o.sender_pk, 'sender_pk'),
    ...(o.sender_port === undefined
      ? {}
      : { senderPort: f.integer(o.sender_port, 'sender_port', 1, 65_535) }),
  };
  switch (method) {
    case 'ping':
      return { method, ...sender };
    case 'find_node':
    case 'get_value':
      return { method, ...sender, target: f.nodeId(o.target, 'target') };
    case 'put_value':
      return {
        method,
        ...sender,
        item: f.item(o.item, 'item'),
        mirrorTarget: f.optionalNodeId(o.mirror_target, 'mirror_target'),
        cas: o.cas === undefined || o.cas === null ? undefined : f.uint64(o.cas, 'cas'),
      };
    case 'get_items':
      return {
        method,
        ...sender,
        salt:
          o.salt === undefined || o.salt === null
            ? undefined
            : new TextEncoder().encode(f.text(o.salt, 'salt')),
        sinceSeq: o.since_seq === undefined ? undefined : f.uint64(o.since_seq, 'since_seq'),
        limit: o.limit === undefined ? undefined : f.integer(o.limit, 'limit', 0, MAX_INT32),
      };
    case 'put_batch': {
      const items = f.list(o.items, 'items', MAX_BATCH_ITEMS, f.item);
      const targets = f.list(o.targets, 'targets', MAX_BATCH_ITEMS, f.nodeId);
      if (items.length !== targets.length) {
        throw new f.FieldError(
          'targets',
          `has ${targets.length} entries but items has ${items.length}; one per item`,
        );
      }
      return { method, ...sender, items, targets };
    }
  }
}

/** A response body for method `tag` (with or without RESPONSE_TAG_FLAG), or why not. Never throws. */
export function decodeResponse(tag: number, json: Uint8Array): Decoded<OverlayResponse> {
  // The common case of every lookup step: a list of peers in canonical form (canonical-peers.ts).
  if (tag === OverlayTag.find_node || tag === OverlayTag.get_value) {
    const closest = decodeCanonicalClosest(json, MAX_CLOSEST_PEERS);
    if (closest !== undefined) {
      return {
        ok: true,
        message:
          tag === OverlayTag.find_node
            ? { method: 'find_node', closest }
            : { method: 'get_value', item: undefined, closest },
      };
    }
  }
  if (tag === OverlayTag.get_value) {
    const split = decodeItemReply(tag, json);
    if (split !== undefined) return split;
  }
  return decodeBody(tag, json, 'BAD_RESPONSE', readResponse);
}

const ITEM_OPEN = new TextEncoder().encode('{"item":{');
const CLOSEST_AFTER_ITEM = new TextEncoder().encode(',"closest":[');
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * A GetValue hit as the server writes it, `{"item":{...},"closest":[...]}`: the small item object
 * through the total decoder, the 20 peers through the canonical one (a hit carries both, and the
 * peers are most of the bytes). The item's fields are hex, base64 and numbers, so the first `}`
 * ends it; if it does not (an escape, a nested object), the head is not a whole document and the
 * whole reply goes to the total decoder, as does anything else this does not match.
 */
function decodeItemReply(tag: number, json: Uint8Array): Decoded<OverlayResponse> | undefined {
  if (json.length > JSON_MAX_BYTES || !startsWithBytes(json, ITEM_OPEN)) return undefined;
  const end = json.indexOf(CLOSE_BRACE, ITEM_OPEN.length);
  if (end < 0 || !startsWithBytes(json.subarray(end + 1), CLOSEST_AFTER_ITEM)) return undefined;
  const tail = json.slice(end + 1);
  tail[0] = OPEN_BRACE;
  const closest = decodeCanonicalClosest(tail, MAX_CLOSEST_PEERS);
  if (closest === undefined) return undefined;
  const head = new Uint8Array(end + 2);
  head.set(json.subarray(0, end + 1));
  head[end + 1] = CLOSE_BRACE;
  const decoded = decodeBody(tag, head, 'BAD_RESPONSE', readResponse);
  if (!decoded.ok || decoded.message.method !== 'get_value' || decoded.message.item === undefined)
    return undefined;
  return { ok: true, message: { ...decoded.message, closest } };
}

function startsWithBytes(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

const peer = (v: JsonValue, field: string): OverlayPeer => {
  const o = f.object(v, field);
  return {
    id: f.nodeId(o.id, `${field}.id`),
    pk: f.publicKey(o.pk, `${field}.pk`),
    lastSeen: f.timestamp(o.last_seen, `${field}.last_seen`),
    ...(o.addr === undefined ? {} : { addr: f.text(o.addr, `${field}.addr`, 64) }),
  };
};

function readResponse(method: OverlayMethod, o: JsonObject): OverlayResponse {
  // Only an error response carries "code" (PutValue's reply has "error" but never "code").
  if (o.code !== undefined) {
    return {
      method: 'error',
      error: f.text(o.error, 'error'),
      code: f.text(o.code, 'code', 64),
      retryAfterMs:
        o.retry_after_ms === undefined
          ? undefined
          : f.integer(o.retry_after_ms, 'retry_after_ms', 0, MAX_INT32),
    };
  }
  switch (method) {
    case 'ping':
      return {
        method,
        responderId: f.nodeId(o.responder_id, 'responder_id'),
        responderPk: f.publicKey(o.responder_pk, 'responder_pk'),
      };
    case 'find_node':
      return { method, closest: f.list(o.closest, 'closest', MAX_CLOSEST_PEERS, peer) };
    case 'get_value':
      return {
        method,
        item: o.item === undefined || o.item === null ? undefined : f.item(o.item, 'item'),
        closest: o.closest === undefined ? [] : f.list(o.closest, 'closest', MAX_CLOSEST_PEERS, peer),
      };
    case 'put_value':
      return {
        method,
        stored: f.boolean(o.stored, 'stored'),
        error: o.error === undefined || o.error === '' ? undefined : f.text(o.error, 'error'),
      };
    case 'get_items': {
      const items = f.list(o.items, 'items', MAX_BATCH_ITEMS, f.item);
      const targets = f.list(o.targets, 'targets', MAX_BATCH_ITEMS, f.nodeId);
      if (items.length !== targets.length) {
        throw new f.FieldError('targets', `has ${targets.length} entries but items has ${items.length}`);
      }
      return {
        method,
        items,
        targets,
        hasMore: o.has_more === undefined ? false : f.boolean(o.has_more, 'has_more'),
      };
    }
    case 'put_batch': {
      const stored = f.list(o.stored, 'stored', MAX_BATCH_ITEMS, f.boolean);
      const errors =
        o.errors === undefined || o.errors === null
          ? undefined
          : f.list(o.errors, 'errors', MAX_BATCH_ITEMS, (e, field) => f.text(e, field));
      if (errors !== undefined && errors.length !== stored.length) {
        throw new f.FieldError('errors', `has ${errors.length} entries but stored has ${stored.length}`);
      }
      return { method, stored, errors };
    }
  }
}

function senderJson(m: Sender): { sender_id: number[]; sender_pk: string; sender_port?: number } {
  return {
    sender_id: f.encodeNodeId(m.senderId),
    sender_pk: f.encodeHex(m.senderPk),
    ...(m.senderPort === undefined ? {} : { sender_port: m.senderPort }),
  };
}

/** JSON bytes of a request (its tag is `OverlayTag[request.method]`). */
export function encodeRequest(m: OverlayRequest): Uint8Array {
  switch (m.method) {
    // These three hold no bigint: the engine's JSON.stringify writes them.
    case 'ping':
      return encodePlainJson(senderJson(m));
    case 'find_node':
    case 'get_value':
      return encodePlainJson({ ...senderJson(m), target: f.encodeNodeId(m.target) });
    case 'put_value':
      return encodeJson({
        ...senderJson(m),
        item: f.encodeItem(m.item),
        mirror_target: m.mirrorTarget ? f.encodeNodeId(m.mirrorTarget) : undefined,
        cas: m.cas,
      });
    case 'get_items':
      return encodeJson({
        ...senderJson(m),
        salt: m.salt && m.salt.length > 0 ? new TextDecoder().decode(m.salt) : undefined,
        since_seq: m.sinceSeq,
        limit: m.limit,
      });
    case 'put_batch':
      return encodeJson({
        ...senderJson(m),
        items: m.items.map(f.encodeItem),
        targets: m.targets.map(f.encodeNodeId),
      });
  }
}

/** Skywire's Peer as JSON (`peer-json.ts` caches these bytes per contact). */
export const peerJson = (p: OverlayPeer): JsonEncodable => ({
  id: f.encodeNodeId(p.id),
  pk: f.encodeHex(p.pk),
  last_seen: p.lastSeen,
  ...(p.addr === undefined ? {} : { addr: p.addr }),
});

/** JSON bytes of a response (its tag is the request's with RESPONSE_TAG_FLAG). */
export function encodeResponse(m: OverlayResponse): Uint8Array {
  switch (m.method) {
    case 'error':
      return encodeJson({ error: m.error, code: m.code, retry_after_ms: m.retryAfterMs });
    case 'ping':
      return encodePlainJson({
        responder_id: f.encodeNodeId(m.responderId),
        responder_pk: f.encodeHex(m.responderPk),
      });
    case 'find_node':
      return encodePlainJson({ closest: m.closest.map(peerJson) });
    case 'get_value':
      // An item carries a 64-bit seq: the bigint-aware encoder; a miss is plain.
      return (m.item ? encodeJson : encodePlainJson)({
        item: m.item ? f.encodeItem(m.item) : undefined,
        closest: m.closest.length > 0 ? m.closest.map(peerJson) : undefined,
      });
    case 'put_value':
      return encodeJson({ stored: m.stored, error: m.error });
    case 'get_items':
      return encodeJson({
        items: m.items.map(f.encodeItem),
        targets: m.targets.map(f.encodeNodeId),
        has_more: m.hasMore,
      });
    case 'put_batch':
      return encodeJson({ stored: m.stored, errors: m.errors });
  }
}
