/** The overlay routes of the OpenAPI document (http/overlay.ts), merged into openapi.ts's paths. */

const errorRef = { $ref: '#/components/schemas/Error' };
const jsonOf = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: jsonOf(errorRef) });
const ok = (description: string, schema: object) => ({ description, content: jsonOf(schema) });
const hex66 = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{66}$',
  description: 'a 33-byte compressed secp256k1 public key',
};
const hex64 = { type: 'string', pattern: '^[0-9a-fA-F]{64}$' };
const seq = {
  type: 'string',
  pattern: '^[0-9]{1,20}$',
  description: 'a uint64 as a decimal string (JSON numbers lose precision beyond 2^53)',
  example: '1764327000123456789',
};
const disabled = err('the overlay is not enabled on this daemon (OVERLAY_DISABLED): set overlay.enabled');

export const OVERLAY_PATHS = {
  '/api/overlay/status': {
    get: {
      summary: 'The overlay node: id, public key, PUBKEY@HOST:PORT, contacts, items by tier, RPC counters',
      responses: {
        200: ok('the overlay node', {
          type: 'object',
          properties: {
            id: hex64,
            publicKey: hex66,
            address: { type: 'string', description: 'PUBKEY@HOST:PORT, for overlay.bootstrap elsewhere' },
            storage: { type: 'string' },
            contacts: { type: 'integer' },
            items: {
              type: 'object',
              properties: {
                whitelisted: { type: 'integer' },
                trusted: { type: 'integer' },
                public: { type: 'integer' },
              },
            },
            rpc: { type: 'object', description: 'outbound and inbound counters per method, dropped frames' },
            lookups: { type: 'object' },
            lies: { type: 'integer', description: 'items from others that failed verification' },
            busy: { type: 'integer', description: 'requests refused with "busy, retry after"' },
            recentLookups: { type: 'array', items: { type: 'object' } },
          },
        }),
        404: disabled,
      },
    },
  },
  '/api/overlay/items': {
    post: {
      summary: "Sign a value with the daemon's overlay key under a salt, and store it on the closest nodes",
      security: [{ bearer: [] }, {}],
      requestBody: {
        required: true,
        content: jsonOf({
          type: 'object',
          required: ['value'],
          additionalProperties: false,
          properties: {
            value: { type: 'string' },
            encoding: { enum: ['utf8', 'base64', 'hex'], description: 'how value is written (default utf8)' },
            salt: {
              type: 'string',
              maxLength: 200,
              description: 'item namespace as UTF-8 text (default none)',
            },
            cas: { ...seq, description: 'store only over this seq (compare-and-swap), as a decimal string' },
            timeout: { type: 'number', maximum: 120 },
          },
        }),
      },
      responses: {
        200: ok('stored', {
          type: 'object',
          properties: {
            target: hex64,
            publicKey: hex66,
            seq,
            stored: { type: 'integer', description: 'nodes that stored it' },
            asked: { type: 'integer' },
            storedLocally: { type: 'boolean' },
          },
        }),
        401: err('missing or wrong bearer token'),
        403: err('Origin is not this API (a write from another web page)'),
        404: disabled,
        422: err('a field is invalid or unknown (a seq sent as a number, a salt over 200 bytes)'),
        429: err('8 announces and puts already running'),
        502: err('no node stored the item (PUT_REJECTED: value too big, CAS mismatch, ...)'),
      },
    },
  },
  '/api/overlay/items/{publicKey}': {
    get: {
      summary: "A publisher's latest item under a salt, verified against the target asked for",
      parameters: [
        { name: 'publicKey', in: 'path', required: true, schema: hex66 },
        { name: 'salt', in: 'query', required: false, schema: { type: 'string', maxLength: 200 } },
        { name: 'timeout', in: 'query', required: false, schema: { type: 'number', maximum: 120 } },
      ],
      responses: {
        200: ok('the item', {
          type: 'object',
          properties: {
            target: hex64,
            publicKey: hex66,
            salt: { type: 'string' },
            seq,
            deleted: { type: 'boolean', description: 'a tombstone: its publisher deleted it' },
            value: { type: ['string', 'null'], description: 'the value as UTF-8 text, when it is text' },
            valueBase64: { type: 'string' },
            signature: { type: 'string', description: '65 bytes r || s || recovery id, hex' },
            sources: { type: 'integer' },
            lies: { type: 'integer' },
          },
        }),
        404: err('no node holds a valid item (NOT_FOUND), or the overlay is disabled (OVERLAY_DISABLED)'),
        422: err('bad public key, salt or timeout'),
        429: err('8 lookups already running'),
      },
    },
  },
};
