/**
 * The HTTP app works on plain request/response values, so tests inject requests without a socket
 * and server.ts adapts node:http to it.
 */

export interface ApiRequest {
  method: string;
  /** Path and query, e.g. "/api/peers/abcd?timeout=5". */
  url: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body?: Uint8Array;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A 4xx/5xx with a stable code and a message that says what to do. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store', ...headers },
    body: `${JSON.stringify(value, jsonBytes, 2)}\n`,
  };
}

export function errorResponse(err: HttpError): ApiResponse {
  return json(err.status, { error: { code: err.code, message: err.message } }, err.headers);
}

function jsonBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value;
}
