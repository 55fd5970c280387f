import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiscoveryHttpClient } from '../../src/discovery/http-client.js';
import { DiscoveryServer } from '../../src/discovery/server.js';
import { signRequest } from '../../src/protocols/discovery/auth.js';
import { type DiscEntry, encodeEntry, signEntry } from '../../src/protocols/discovery/entry.js';
import {
  newTransportEntry,
  signTransport,
  type SignedTransport,
  transportToJson,
} from '../../src/protocols/discovery/transport-entry.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { toHex } from '../../src/util/bytes.js';
import { stringifyJson } from '../../src/wire/json.js';

const id = (): OverlayIdentity => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const clientEntry = (who: OverlayIdentity, seq: bigint, servers: Uint8Array[] = []): DiscEntry =>
  signEntry(
    {
      version: '0.0.1',
      sequence: seq,
      timestamp: nowNs(),
      static: who.publicKey,
      client: { delegatedServers: servers },
      clientType: 'visor',
      protocol: '',
    },
    who,
  );
const serverEntry = (who: OverlayIdentity, seq: bigint, timestamp = nowNs()): DiscEntry =>
  signEntry(
    {
      version: '0.0.1',
      sequence: seq,
      timestamp,
      static: who.publicKey,
      server: {
        address: '127.0.0.1:9',
        addressV6: '',
        addressUdp: '',
        addressUdpV6: '',
        addressWs: '',
        availableSessions: 10,
        serverType: '',
        dhtBootstrap: false,
      },
      clientType: '',
      protocol: '',
    },
    who,
  );

describe('discovery server: routes and bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-disc-'));
  let server: DiscoveryServer | undefined;
  let client: DiscoveryHttpClient;
  const raw = async (
    method: string,
    path: string,
    body?: string | Uint8Array,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(server!.url + path, { method, body, headers });
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    server = await DiscoveryServer.start({ sqlitePath: join(dir, 'disc.sqlite') });
    client = new DiscoveryHttpClient(server.url);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a signed entry, serves it back byte for byte, and applies the sequence rule', async () => {
    const alice = id();
    const e1 = clientEntry(alice, 1n);
    let r = await raw('POST', '/dmsg-discovery/entry/', encodeEntry(e1));
    assert.deepEqual([r.status, JSON.parse(r.text)], [200, { message: 'wrote a new entry', code: 200 }]);
    r = await raw('GET', `/dmsg-discovery/entry/${toHex(alice.publicKey)}`);
    assert.deepEqual([r.status, r.text], [200, encodeEntry(e1)]);
    // The same sequence again, and a lower one: 422, the stored entry unchanged.
    const same = clientEntry(alice, 1n);
    r = await raw('POST', '/dmsg-discovery/entry/', encodeEntry(same));
    assert.equal(r.status, 422);
    assert.match(JSON.parse(r.text).message, /sequence/);
    r = await raw('POST', '/dmsg-discovery/entry/', encodeEntry(clientEntry(alice, 0n)));
    assert.equal(r.status, 422);
    assert.equal((await raw('GET', `/dmsg-discovery/entry/${toHex(alice.publicKey)}`)).text, encodeEntry(e1));
    const e2 = clientEntry(alice, 2n);
    r = await raw('POST', `/dmsg-discovery/entry/${toHex(alice.publicKey)}`, encodeEntry(e2));
    assert.deepEqual(JSON.parse(r.text), { message: 'wrote new entry iteration', code: 200 });
    // The client's PutEntry recovers from a stale local sequence (a restarted visor).
    const put = await client.putEntry(alice, { ...e1, sequence: 0n }, nowNs());
    assert.equal(put.sequence, 3n);
  });

  it('refuses forged and stale entries with 401 / 422 and stores nothing', async () => {
    const bob = id();
    const forged = clientEntry(bob, 1n);
    const sig = forged.signature!.slice();
    sig[5] = (sig[5] as number) ^ 0xff;
    let r = await raw('POST', '/dmsg-discovery/entry/', encodeEntry({ ...forged, signature: sig }));
    assert.deepEqual([r.status, JSON.parse(r.text)], [401, { message: 'invalid signature', code: 401 }]);
    // Signed by another key than `static`.
    const mallory = id();
    const stolen = signEntry({ ...clientEntry(bob, 1n), signature: undefined }, mallory);
    r = await raw('POST', '/dmsg-discovery/entry/', encodeEntry(stolen));
    assert.equal(r.status, 401);
    // A server entry two minutes old is outside dmsg's window.
    const stale = serverEntry(bob, 1n, nowNs() - 120_000_000_000n);
    r = await raw('POST', '/dmsg-discovery/entry/', encodeEntry(stale));
    assert.equal(r.status, 422);
    assert.match(JSON.parse(r.text).message, /timestamp/);
    r = await raw('GET', `/dmsg-discovery/entry/${toHex(bob.publicKey)}`);
    assert.deepEqual(
      [r.status, JSON.parse(r.text)],
      [404, { message: 'entry of public key is not found', code: 404 }],
    );
  });

  it('answers malformed JSON, unknown fields, bad keys and oversized bodies, and stays up', async () => {
    const carol = id();
    let r = await raw('POST', '/dmsg-discovery/entry/', '{"version":');
    assert.equal(r.status, 400);
    r = await raw(
      'POST',
      '/dmsg-discovery/entry/',
      encodeEntry(clientEntry(carol, 1n)).replace('{', '{"admin":true,'),
    );
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.text).message, /admin/);
    r = await raw('GET', '/dmsg-discovery/entry/zz');
    assert.equal(r.status, 400);
    r = await raw('POST', '/dmsg-discovery/entry/', new Uint8Array(70 * 1024).fill(0x20));
    assert.equal(r.status, 413);
    r = await raw('POST', '/transports/', new Uint8Array(2 * 1024 * 1024).fill(0x20));
    assert.equal(r.status, 413);
    r = await raw('POST', '/dmsg-discovery/entries/batch', '[1,2]');
    assert.equal(r.status, 400);
    r = await raw('GET', '/no/such/route');
    assert.equal(r.status, 404);
    assert.equal((await raw('GET', `/dmsg-discovery/entry/${toHex(carol.publicKey)}`)).status, 404);
    assert.equal((await raw('GET', '/health')).status, 200);
  });

  it('lists servers, clients by server, and batches', async () => {
    const srv = id();
    const c = id();
    await client.postEntry(serverEntry(srv, 1n));
    await client.postEntry(clientEntry(c, 1n, [srv.publicKey]));
    assert.ok((await client.allServers()).some((e) => toHex(e.static) === toHex(srv.publicKey)));
    assert.ok((await client.availableServers()).length >= 1);
    assert.deepEqual(await client.clientsByServer(srv.publicKey), [toHex(c.publicKey)]);
    const r = await raw('POST', '/dmsg-discovery/entries/batch', JSON.stringify([toHex(c.publicKey)]));
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(r.text)), [toHex(c.publicKey)]);
  });

  it('registers transports with SW-* signing; a replayed nonce is refused and stores nothing', async () => {
    const a = id();
    const b = id();
    const t: SignedTransport = signTransport(
      {
        entry: newTransportEntry(a.publicKey, b.publicKey, 'dmsg'),
        signatures: [undefined, undefined],
        registered: 0n,
      },
      a,
    );
    const body = stringifyJson([transportToJson(t)]);
    const nonce = BigInt(
      JSON.parse((await raw('GET', `/security/nonces/${toHex(a.publicKey)}`)).text).next_nonce,
    );
    const headers = signRequest(new TextEncoder().encode(body), nonce, a);
    let r = await raw('POST', '/transports/', body, headers);
    assert.equal(r.status, 201);
    assert.equal((await client.transportsByEdge(b.publicKey)).length, 1);
    const tid = (JSON.parse(r.text) as { entry: { t_id: string } }[])[0]!.entry.t_id;
    await client.deleteTransport(a, tid);
    assert.equal((await client.transportsByEdge(b.publicKey)).length, 0);
    // The recorded registration, replayed: its nonce is spent.
    r = await raw('POST', '/transports/', body, headers);
    assert.equal(r.status, 401);
    assert.match(r.text, /SW-Nonce does not match/);
    assert.equal((await client.transportsByEdge(b.publicKey)).length, 0);
    // Unsigned, a signature over another body, a key that is not an edge, a forged edge signature.
    assert.equal((await raw('POST', '/transports/', body)).status, 401);
    const n2 = BigInt(
      JSON.parse((await raw('GET', `/security/nonces/${toHex(a.publicKey)}`)).text).next_nonce,
    );
    assert.equal(
      (await raw('POST', '/transports/', body, signRequest(new TextEncoder().encode('[]'), n2, a))).status,
      401,
    );
    const outsider = id();
    await assert.rejects(client.registerTransports(outsider, [t]), /not one of its edges/);
    const forged = { ...t, signatures: [t.signatures[0], t.signatures[0]] as SignedTransport['signatures'] };
    await assert.rejects(client.registerTransports(a, [forged]), /400/);
    assert.equal((await client.transportsByEdge(a.publicKey)).length, 0);
    // A good one through the client (nonce bookkeeping across several requests).
    await client.registerTransports(b, [t]);
    assert.equal((await client.transportsByEdge(a.publicKey)).length, 1);
  });

  it('registers services under the signer only', async () => {
    const v = id();
    const other = id();
    const service = {
      publicKey: v.publicKey,
      port: 3,
      type: 'visor',
      displayNodeIp: false,
      version: '',
      localIps: [],
    };
    await assert.rejects(client.registerService(other, service), /401/);
    await client.registerService(v, service);
    const list = await client.services('visor');
    assert.ok(list.some((s) => toHex(s.publicKey) === toHex(v.publicKey) && s.port === 3));
  });

  it('keeps its records across a restart on the same SQLite file', async () => {
    const dave = id();
    const e = clientEntry(dave, 5n);
    await client.postEntry(e);
    const url = server!.url;
    await server!.close();
    server = await DiscoveryServer.start({ sqlitePath: join(dir, 'disc.sqlite') });
    client = new DiscoveryHttpClient(server.url);
    assert.notEqual(url, undefined);
    assert.equal(encodeEntry(await client.entry(dave.publicKey)), encodeEntry(e));
  });
});
