/**
 * The overlay's frame body: Skywire's `[uint8 method tag][JSON]` with a 4-byte request id after
 * the tag. Skywire ran one RPC per stream and needed no id; kadmium multiplexes many requests on
 * one pooled connection. The id is binary, not a JSON field, so a frame whose JSON is broken can
 * still be answered with an error that names it. The length prefix belongs to the stream (and the
 * secure channel encrypts the body), so it is not here.
 *
 *   request:  tag 1..0x7e           [tag][request id u32 BE][JSON request]
 *   response: tag | 0x80            [tag|0x80][request id][JSON response]
 *   error:    ERROR_TAG (0xff)      [0xff][request id][JSON {"error","code","retry_after_ms"?}]
 */
export const FRAME_HEADER_BYTES = 5;
export const RESPONSE_FLAG = 0x80;
export const ERROR_TAG = 0xff;

export type FrameKind = 'request' | 'response' | 'error';

export interface Frame {
  kind: FrameKind;
  /** The method tag (without the response flag); 0 for errors. */
  tag: number;
  requestId: number;
  /** The JSON bytes, a view into the body. */
  json: Uint8Array;
}

export function encodeFrame(kind: FrameKind, tag: number, requestId: number, json: Uint8Array): Uint8Array {
  // From Buffer's pool, not zero-filled: a `new Uint8Array` of a few hundred bytes is a fresh
  // off-heap allocation, and one is made for every request and reply.
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + json.length);
  out[0] = kind === 'error' ? ERROR_TAG : kind === 'response' ? tag | RESPONSE_FLAG : tag;
  out[1] = (requestId >>> 24) & 0xff;
  out[2] = (requestId >>> 16) & 0xff;
  out[3] = (requestId >>> 8) & 0xff;
  out[4] = requestId & 0xff;
  out.set(json, FRAME_HEADER_BYTES);
  return out;
}

/** The 5-byte header alone, for a connection that sends header and JSON as one body without a copy. */
export function encodeFrameHeader(kind: FrameKind, tag: number, requestId: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES);
  out[0] = kind === 'error' ? ERROR_TAG : kind === 'response' ? tag | RESPONSE_FLAG : tag;
  out[1] = (requestId >>> 24) & 0xff;
  out[2] = (requestId >>> 16) & 0xff;
  out[3] = (requestId >>> 8) & 0xff;
  out[4] = requestId & 0xff;
  return out;
}

/** Undefined when the body is too short for a header or its tag is 0 / 0x80. Never throws. */
export function decodeFrame(body: Uint8Array): Frame | undefined {
  if (body.length < FRAME_HEADER_BYTES) return undefined;
  const first = body[0] as number;
  const requestId =
    (((body[1] as number) << 24) |
      ((body[2] as number) << 16) |
      ((body[3] as number) << 8) |
      (body[4] as number)) >>>
    0;
  const json = body.subarray(FRAME_HEADER_BYTES);
  if (first === ERROR_TAG) return { kind: 'error', tag: 0, requestId, json };
  const tag = first & ~RESPONSE_FLAG;
  if (tag === 0) return undefined;
  return { kind: first & RESPONSE_FLAG ? 'response' : 'request', tag, requestId, json };
}
