/** The OpenAPI 3 description of the daemon's HTTP API, served at /openapi.json. */
import { OVERLAY_PATHS } from './openapi-overlay.js';

const hex40 = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{40}$',
  example: 'c9e15763f722f23e98a29decdfae341b98d53056',
};
const error = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};
const errorRef = { $ref: '#/components/schemas/Error' };
const jsonOf = (schema: object) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: jsonOf(errorRef) });
const ok = (description: string, schema: object = { type: 'object' }) => ({
  description,
  content: jsonOf(schema),
});
const peer = { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer' } } };
const timeout = {
  name: 'timeout',
  in: 'query',
  required: false,
  description: 'seconds before the lookup gives up (default 30, at most 120)',
  schema: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 120 },
};

export function openApiDocument(version: string): object {
  return {
    openapi: '3.0.3',
    info: {
      title: 'kadmium daemon API',
      version,
      description:
        'Status, routing table, lookups and metrics of one kadmium Mainline DHT node. Write endpoints need ' +
        '"Authorization: Bearer <api.token>" whenever a token is configured (always when the API is bound beyond loopback). ' +
        'Every request must carry a Host naming the bound address (localhost too on loopback) or a name in ' +
        'api.allowed_hosts, and a write with an Origin header must come from one of those (403 otherwise: the ' +
        'defence against DNS rebinding). The route, method and token are checked before a body is read. ' +
        'Malformed percent-encoding in the path or query is a 400 (BAD_ENCODING); a body that pauses longer than ' +
        'api.body_timeout_s is a 408. Lookups (get-peers, item gets) and writes (announce, puts) have separate ' +
        'slots, 8 each; beyond them, 429 with Retry-After.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: error },
    },
    paths: {
      ...OVERLAY_PATHS,
      '/health': {
        get: {
          summary: 'Liveness: 200 while running, 503 while starting or stopping',
          responses: {
            200: ok('running', {
              type: 'object',
              properties: {
                status: { type: 'string', enum: ['ok', 'starting', 'stopping'] },
                bootstrapped: { type: 'boolean' },
                nodes: { type: 'integer' },
                uptimeSeconds: { type: 'integer' },
              },
            }),
            503: ok('starting or stopping'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text exposition format 0.0.4)',
          responses: {
            200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: ok('OpenAPI 3 document') } } },
      '/': {
        get: {
          summary: 'The live dashboard (HTML)',
          responses: {
            200: { description: 'page', content: { 'text/html': { schema: { type: 'string' } } } },
          },
        },
      },
      '/events': {
        get: {
          summary: 'Server-sent events: a "snapshot" event (the /api/stats document) every statistics tick',
          responses: {
            200: {
              description: 'event stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            503: err('too many dashboard connections'),
          },
        },
      },
      '/api/status': {
        get: {
          summary: 'Node id, address, bootstrap state, counters, storage',
          responses: { 200: ok('status') },
        },
      },
      '/api/stats': {
        get: {
          summary: 'Everything the dashboard shows (rates, latency, lookups, map, anomalies)',
          responses: { 200: ok('snapshot') },
        },
      },
      '/api/routing-table': {
        get: {
          summary: 'Buckets (fill and node states) and every node with its place in XOR space',
          responses: { 200: ok('routing table') },
        },
      },
      '/api/lookups': { get: { summary: 'Recent lookups, newest first', responses: { 200: ok('lookups') } } },
      '/api/anomalies': {
        get: {
          summary: 'Active and recent anomaly flags, and the detector settings',
          responses: { 200: ok('anomalies') },
        },
      },
      '/api/privacy': {
        get: {
          summary:
            'What this node keeps about others (routing table, peers, items, statistics), for how long and why; the bootstrap routers and their operators',
          responses: { 200: ok('the privacy report') },
        },
      },
      '/api/profile/cpu': {
        post: {
          summary:
            'A CPU profile of the daemon over the next `seconds` (default 5, at most 60), as .cpuprofile JSON',
          security: [{ bearer: [] }],
          parameters: [{ name: 'seconds', in: 'query', required: false, schema: { type: 'number' } }],
          responses: {
            200: ok('the profile (open in Chrome DevTools)'),
            401: err('missing or wrong bearer token'),
            403: err('no api.token is set: profiling is disabled'),
            429: err('a profile is being captured already'),
          },
        },
      },
      '/api/profile/heap': {
        post: {
          summary: 'A V8 heap snapshot of the daemon, as .heapsnapshot JSON',
          security: [{ bearer: [] }],
          responses: {
            200: ok('the snapshot (open in Chrome DevTools, Memory tab)'),
            401: err('missing or wrong bearer token'),
            403: err('no api.token is set: profiling is disabled'),
            429: err('a profile is being captured already'),
          },
        },
      },
      '/api/peers/{infohash}': {
        get: {
          summary: 'get_peers lookup: peers for an infohash',
          parameters: [{ name: 'infohash', in: 'path', required: true, schema: hex40 }, timeout],
          responses: {
            200: ok('peers found (maybe none)', {
              type: 'object',
              properties: {
                infohash: hex40,
                peers: { type: 'array', items: peer },
                durationMs: { type: 'integer' },
              },
            }),
            400: err('malformed percent-encoding in the path or query'),
            422: err('bad infohash or timeout'),
            429: err('8 lookups already running'),
            503: err('the routing table is empty (not bootstrapped)'),
          },
        },
      },
      '/api/announce': {
        post: {
          summary: 'Announce this host as a peer for an infohash (announce_peer to the closest nodes)',
          security: [{ bearer: [] }, {}],
          requestBody: {
            required: true,
            content: jsonOf({
              type: 'object',
              required: ['infohash'],
              additionalProperties: false,
              properties: {
                infohash: hex40,
                port: {
                  type: 'integer',
                  minimum: 1,
                  maximum: 65535,
                  description: 'default: implied (our UDP port)',
                },
                seed: { type: 'boolean', description: 'BEP 33 seed flag' },
                timeout: { type: 'number', description: 'seconds, default 30, at most 120' },
              },
            }),
          },
          responses: {
            200: ok('stored by at least one node', {
              type: 'object',
              properties: {
                infohash: hex40,
                announcedTo: { type: 'integer' },
                candidates: { type: 'integer' },
                peers: { type: 'array', items: peer },
              },
            }),
            400: err('missing or unparsable body'),
            401: err('missing or wrong bearer token'),
            403: err('Origin is not this API (a write from another web page)'),
            408: err('the body paused longer than api.body_timeout_s'),
            413: err('body over 16 KiB'),
            415: err('body is not application/json'),
            422: err('a field is invalid or unknown'),
            429: err('8 announces and puts already running'),
            502: ok('no node accepted the announce'),
            503: err('not bootstrapped, or shutting down'),
          },
        },
      },
      '/api/items/{target}': {
        get: {
          summary: 'Get a BEP 44 item: the verified value with the highest seq among the closest nodes',
          parameters: [
            { name: 'target', in: 'path', required: true, schema: hex40 },
            { name: 'salt', in: 'query', required: false, schema: { type: 'string', maxLength: 64 } },
            { name: 'timeout', in: 'query', required: false, schema: { type: 'number', maximum: 120 } },
          ],
          responses: {
            200: ok('the item', {
              type: 'object',
              properties: {
                target: hex40,
                value: { type: ['string', 'null'], description: 'the value as UTF-8 text, when it is text' },
                valueBencodedHex: { type: 'string' },
                seq: { type: ['integer', 'null'] },
                publicKey: { type: ['string', 'null'] },
                verifiedBy: { type: 'integer' },
              },
            }),
            404: err('no node holds a valid item (mutable items need ?salt=)'),
            400: err('malformed percent-encoding in the path or query'),
            422: err('bad target, salt or timeout'),
            429: err('8 lookups already running'),
          },
        },
      },
      '/api/items': {
        post: {
          summary: 'Put a BEP 44 item: immutable, or mutable signed with the given ed25519 seed',
          security: [{ bearer: [] }, {}],
          requestBody: {
            required: true,
            content: jsonOf({
              type: 'object',
              required: ['value'],
              additionalProperties: false,
              properties: {
                value: { type: 'string' },
                encoding: { enum: ['utf8', 'hex'] },
                timeout: { type: 'number', maximum: 120 },
                mutable: {
                  type: 'object',
                  required: ['seed'],
                  additionalProperties: false,
                  description:
                    'sign with this key; the seed travels in the request, so keep the API on loopback',
                  properties: {
                    seed: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
                    salt: { type: 'string', maxLength: 64 },
                    seq: { type: 'integer', minimum: 0 },
                    cas: { type: 'integer', minimum: 0 },
                  },
                },
              },
            }),
          },
          responses: {
            200: ok('stored', {
              type: 'object',
              properties: {
                target: hex40,
                publicKey: { type: 'string' },
                seq: { type: ['integer', 'null'] },
                storedOn: { type: 'integer' },
                candidates: { type: 'integer' },
              },
            }),
            401: err('missing or wrong bearer token'),
            403: err('Origin is not this API (a write from another web page)'),
            408: err('the body paused longer than api.body_timeout_s'),
            409: err('seq or CAS conflict: the network holds a newer value'),
            413: err('value over 1000 bytes bencoded'),
            422: err('a field is invalid or unknown'),
            429: err('8 announces and puts already running'),
            502: err('no node stored the item'),
          },
        },
      },
    },
  };
}
