import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authPayload,
  readAuthHeaders,
  signRequest,
  verifyRequest,
} from '../../src/protocols/discovery/auth.js';
import {
  decodeEntry,
  type DiscEntry,
  encodeEntry,
  entrySigningBytes,
  signEntry,
  validateEntry,
  validateIteration,
} from '../../src/protocols/discovery/entry.js';
import { goString } from '../../src/protocols/discovery/go-json.js';
import { decodeService, serviceToJson } from '../../src/protocols/discovery/service.js';
import {
  checkTransport,
  decodeSignedTransport,
  formatUuid,
  newTransportEntry,
  signTransport,
  transportSigningBytes,
  transportToJson,
} from '../../src/protocols/discovery/transport-entry.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { decodeJson, type JsonValue } from '../../src/wire/json.js';
import { SeededRandom } from '../../src/util/random.js';

const key = (n: number): OverlayIdentity => {
  const sk = new Uint8Array(32);
  sk[31] = n;
  return OverlayIdentity.fromSecretKey(sk, { dynamicBits: 0 });
};
const A = key(1);
const B = key(2);
const json = (text: string): JsonValue => {
  const r = decodeJson(text);
  assert.ok(r.ok, text);
  return r.value;
};

/**
 * Fixed keys (secret 1 and 2) and RFC 6979 signatures make these vectors fixed: the exact bytes Go
 * writes for each struct (field order, omitempty, nil slice as null) and the signatures over them.
 */
const CLIENT_JSON =
  '{"version":"0.0.1","sequence":1152921504606846976,"timestamp":1764300000123456789,"static":"0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798","client":{"delegated_servers":["02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"]},"client_type":"visor"}';
const CLIENT_SIG =
  'f4877ca705dbbdfe0bf02d26af4540d67dccebc79891b01aa3dadc1a7b58a1042f31522bed6538e73c8fcf1a89b8ec05f923fec560ed947c5a5aa01e12f4c17c01';
const SERVER_JSON =
  '{"version":"0.0.1","sequence":7,"timestamp":1764300000000000000,"static":"02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5","client":{"delegated_servers":null},"server":{"address":"127.0.0.1:8081","availableSessions":2048,"dht_bootstrap":true}}';
const SERVER_SIG =
  'd1b1e90641a36e6af9b8dcd2105ec38faa2c1d487f68a9df6420aed20c1e629d12f0bfa6f494856b48158cdad0c9e2a286e8c331e87381800c1115dbc0b4926a00';

const withSig = (unsigned: string, sig: string): string => `${unsigned.slice(0, -1)},"signature":"${sig}"}`;

describe('dmsg Entry', () => {
  it('reproduces the signing bytes and signatures of the vectors', () => {
    for (const [text, sig, signer] of [
      [CLIENT_JSON, CLIENT_SIG, A],
      [SERVER_JSON, SERVER_SIG, B],
    ] as const) {
      const decoded = decodeEntry(json(withSig(text, sig)));
      assert.ok(decoded.ok);
      assert.equal(new TextDecoder().decode(entrySigningBytes(decoded.value)), text);
      assert.equal(toHex(signer.sign(entrySigningBytes(decoded.value))), sig);
      assert.deepEqual(validateEntry(decoded.value), { ok: true });
      // The full entry (with signature) re-encodes to the bytes it came from.
      assert.equal(encodeEntry(decoded.value), withSig(text, sig));
    }
  });

  it('keeps sequences and timestamps past 2^53 exact', () => {
    const decoded = decodeEntry(json(withSig(CLIENT_JSON, CLIENT_SIG)));
    assert.ok(decoded.ok);
    assert.equal(decoded.value.sequence, 1n << 60n);
    assert.equal(decoded.value.timestamp, 1764300000123456789n);
  });

  it('refuses a forged entry: a changed field, another key, a flipped signature byte', () => {
    const good = decodeEntry(json(withSig(CLIENT_JSON, CLIENT_SIG)));
    assert.ok(good.ok);
    const changed: DiscEntry = { ...good.value, sequence: good.value.sequence + 1n };
    assert.equal(validateEntry(changed).ok, false);
    const otherKey: DiscEntry = { ...good.value, static: B.publicKey };
    assert.equal(validateEntry(otherKey).ok, false);
    const sig = good.value.signature!.slice();
    sig[10] = (sig[10] as number) ^ 1;
    const check = validateEntry({ ...good.value, signature: sig });
    assert.equal(check.ok, false);
    assert.equal(!check.ok && check.code, 'BAD_SIGNATURE');
  });

  it('applies dmsg validation: version, signature, client or server, address, time window, iteration', () => {
    const base: DiscEntry = {
      version: '0.0.1',
      sequence: 1n,
      timestamp: 1_000_000_000_000n,
      static: A.publicKey,
      clientType: '',
      protocol: '',
    };
    const code = (e: DiscEntry, now?: bigint): string | undefined => {
      const r = validateEntry(e, now);
      return r.ok ? undefined : r.code;
    };
    assert.equal(code(signEntry({ ...base, version: '' }, A)), 'EMPTY_VERSION');
    assert.equal(code({ ...base, client: { delegatedServers: [] } }), 'NO_SIGNATURE');
    assert.equal(code(signEntry(base, A)), 'NO_CLIENT_OR_SERVER');
    const server = {
      address: '',
      addressV6: '',
      addressUdp: '',
      addressUdpV6: '',
      addressWs: '',
      availableSessions: 1,
      serverType: '',
      dhtBootstrap: false,
    };
    assert.equal(code(signEntry({ ...base, server }, A)), 'SERVER_ADDRESS');
    const srv = signEntry({ ...base, server: { ...server, address: '1.2.3.4:5' } }, A);
    assert.equal(code(srv, base.timestamp + 61_000_000_000n), 'WRONG_TIME');
    assert.equal(code(srv, base.timestamp - 6_000_000_000n), 'WRONG_TIME');
    assert.equal(code(srv, base.timestamp + 59_000_000_000n), undefined);
    assert.equal(validateIteration(srv, srv).ok, false);
    assert.equal(validateIteration(srv, { ...srv, sequence: 2n, timestamp: srv.timestamp - 1n }).ok, false);
    assert.equal(validateIteration(srv, { ...srv, sequence: 2n }).ok, true);
  });

  it('refuses unknown fields, bad keys and wrong types with the field named; never throws', () => {
    const bad: [string, string][] = [
      [withSig(CLIENT_JSON, CLIENT_SIG).replace('"version"', '"extra":1,"version"'), 'extra'],
      [CLIENT_JSON.replace('0279be', '0579be'), 'static'],
      [CLIENT_JSON.replace('"sequence":1152921504606846976', '"sequence":-1'), 'sequence'],
      [CLIENT_JSON.replace('"sequence":1152921504606846976', '"sequence":18446744073709551616'), 'sequence'],
      [CLIENT_JSON.replace('"client_type":"visor"', '"client_type":5'), 'client_type'],
      ['[1,2]', 'entry'],
    ];
    for (const [text, field] of bad) {
      const r = decodeEntry(json(text));
      assert.equal(r.ok, false, text);
      assert.equal(!r.ok && r.field, field);
    }
    const random = new SeededRandom(5);
    const base = new TextEncoder().encode(withSig(SERVER_JSON, SERVER_SIG));
    for (let i = 0; i < 2_000; i++) {
      const mutated = base.slice();
      for (let j = 0; j < 3; j++) mutated[random.int(mutated.length)] = random.int(256);
      const parsed = decodeJson(mutated);
      if (parsed.ok) {
        const r = decodeEntry(parsed.value);
        if (r.ok) validateEntry(r.value);
      }
    }
  });

  it('writes strings as jsoniter does', () => {
    assert.equal(goString('a"b\\c\n\r\t\u0001<>&\u2028é'), '"a\\"b\\\\c\\n\\r\\t\\u0001<>&\u2028é"');
  });
});

describe('transport entries', () => {
  it('derives the ID from sorted edges and type, and signs ID || edges || type', () => {
    const t = newTransportEntry(B.publicKey, A.publicKey, 'dmsg');
    assert.deepEqual(t, newTransportEntry(A.publicKey, B.publicKey, 'dmsg'));
    assert.equal(formatUuid(t.id), 'c2d3e00f-4d0b-05d9-b2a7-bdab05d40005');
    assert.equal(
      toHex(transportSigningBytes(t)),
      `c2d3e00f4d0b05d9b2a7bdab05d40005${toHex(A.publicKey)}${toHex(B.publicKey)}646d7367`,
    );
    const signed = signTransport(
      signTransport({ entry: t, signatures: [undefined, undefined], registered: 0n }, A),
      B,
    );
    assert.equal(
      toHex(signed.signatures[0]!),
      'f674a67da96298a8f212dde03556b6e352122f9024d1e7c863b8e644525d2e2f0232b10327c3438b2ef9371cf17314dabf74ce15c61d20f48211c23adda7d40801',
    );
    const round = decodeSignedTransport(json(JSON.stringify(transportToJson(signed))));
    assert.ok(round.ok);
    assert.deepEqual(round.value, signed);
    const check = checkTransport(round.value);
    assert.ok(check.ok);
    assert.equal(check.signedBy.length, 2);
  });

  it('refuses a wrong ID, unsorted edges, a forged or missing signature', () => {
    const t = newTransportEntry(A.publicKey, B.publicKey, 'stcpr');
    const one = signTransport({ entry: t, signatures: [undefined, undefined], registered: 0n }, A);
    assert.ok(checkTransport(one).ok);
    assert.equal(checkTransport({ ...one, signatures: [undefined, undefined] }).ok, false);
    const otherType = { ...one, entry: { ...t, type: 'dmsg' } };
    assert.equal(checkTransport(otherType).ok, false);
    const swapped = { ...one, entry: { ...t, edges: [t.edges[1], t.edges[0]] as [Uint8Array, Uint8Array] } };
    assert.equal(checkTransport(swapped).ok, false);
    const forged = { ...one, signatures: [one.signatures[0], one.signatures[0]] as typeof one.signatures };
    assert.equal(checkTransport(forged).ok, false);
    const badType = transportToJson(one);
    (badType.entry as Record<string, JsonValue>).type = 'carrier-pigeon';
    assert.equal(decodeSignedTransport(json(JSON.stringify(badType))).ok, false);
  });
});

describe('services', () => {
  it('decodes and re-encodes a service, maps proxy to skysocks, requires a version for vpn', () => {
    const addr = `${toHex(A.publicKey)}:44`;
    const r = decodeService(
      json(`{"address":"${addr}","type":"proxy","version":"1.3","geo":{"lat":1.5,"lon":2,"country":"DE"}}`),
    );
    assert.ok(r.ok);
    assert.equal(r.value.type, 'skysocks');
    assert.equal(r.value.port, 44);
    assert.deepEqual(serviceToJson(r.value), {
      address: addr,
      type: 'skysocks',
      geo: { lat: 1.5, lon: 2, country: 'DE', region: '' },
      version: '1.3',
    });
    assert.equal(decodeService(json(`{"address":"${addr}","type":"vpn"}`)).ok, false);
    assert.equal(decodeService(json(`{"address":"${addr}:1","type":"visor"}`)).ok, false);
    assert.equal(decodeService(json(`{"address":"${addr}","type":"visor","x":1}`)).ok, false);
    assert.equal(decodeService(json(`{"address":"${toHex(A.publicKey)}:70000","type":"visor"}`)).ok, false);
  });
});

describe('SW-* request signing', () => {
  it('signs body || decimal nonce; a changed body, nonce or key fails', () => {
    const body = new TextEncoder().encode('[{"x":1}]');
    assert.equal(new TextDecoder().decode(authPayload(body, 12n)), '[{"x":1}]12');
    const headers = Object.fromEntries(
      Object.entries(signRequest(body, 12n, A)).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const auth = readAuthHeaders(headers);
    assert.ok(auth.ok);
    assert.equal(verifyRequest(auth.value, body), true);
    assert.equal(verifyRequest({ ...auth.value, nonce: 13n }, body), false);
    assert.equal(verifyRequest(auth.value, new TextEncoder().encode('[{"x":2}]')), false);
    assert.equal(verifyRequest({ ...auth.value, publicKey: B.publicKey }, body), false);
    assert.equal(readAuthHeaders({ ...headers, 'sw-nonce': '-1' }).ok, false);
    assert.equal(readAuthHeaders({ ...headers, 'sw-nonce': '18446744073709551616' }).ok, false);
    assert.equal(readAuthHeaders({ ...headers, 'sw-public': 'zz' }).ok, false);
    assert.equal(readAuthHeaders({ 'sw-public': headers['sw-public'] }).ok, false);
    assert.ok(fromHex(headers['sw-sig']!));
  });
});
