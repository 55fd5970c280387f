import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DhtDiscovery } from '../../src/discovery/adapter.js';
import { DiscoveryHttpClient } from '../../src/discovery/http-client.js';
import { HybridDiscovery } from '../../src/discovery/hybrid.js';
import { DiscoveryServer } from '../../src/discovery/server.js';
import type { OverlayNode } from '../../src/node/overlay-node.js';
import { createOverlayTestnet, listenOverlay, type OverlayTestnet } from '../../src/node/overlay-tcp.js';
import { encodeTpChunks } from '../../src/protocols/discovery/dht-values.js';
import { type DiscEntry, encodeEntry, signEntry } from '../../src/protocols/discovery/entry.js';
import {
  newTransportEntry,
  signTransport,
  type SignedTransport,
} from '../../src/protocols/discovery/transport-entry.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { toHex } from '../../src/util/bytes.js';

const id = (): OverlayIdentity => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const clientEntry = (who: OverlayIdentity, seq: bigint): DiscEntry =>
  signEntry(
    {
      version: '0.0.1',
      sequence: seq,
      timestamp: nowNs(),
      static: who.publicKey,
      client: { delegatedServers: [] },
      clientType: 'visor',
      protocol: '',
    },
    who,
  );
const transport = (a: OverlayIdentity, b: OverlayIdentity, type = 'dmsg'): SignedTransport =>
  signTransport(
    {
      entry: newTransportEntry(a.publicKey, b.publicKey, type),
      signatures: [undefined, undefined],
      registered: 0n,
    },
    a,
  );

/**
 * In one process, on loopback TCP: an overlay testnet whose nodes trust the discovery server's
 * key for mirrors, the discovery server with its own full node, and readers using the overlay alone.
 */
describe('discovery on the overlay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-disc-ov-'));
  const serverKey = id();
  let net: OverlayTestnet | undefined;
  let server: DiscoveryServer | undefined;
  const extra: OverlayNode[] = [];
  const readers: DhtDiscovery[] = [];
  let http: DiscoveryHttpClient;
  let reader: DhtDiscovery;

  before(async () => {
    net = await createOverlayTestnet(12, {
      storeOptions: { trusted: new Set([toHex(serverKey.publicKey)]) },
    });
    server = await DiscoveryServer.start({
      sqlitePath: join(dir, 'disc.sqlite'),
      identity: serverKey,
      bootstrap: net.bootstrap,
      // The tests flush the mirror themselves: a timer firing under load would let the DHT answer
      // a read that must miss.
      mirrorFlushMs: 10 * 60_000,
    });
    http = new DiscoveryHttpClient(server.url);
    reader = new DhtDiscovery({ node: net.nodes[5]! });
    readers.push(reader);
  });
  after(async () => {
    for (const r of readers) r.close();
    await Promise.all(extra.map((n) => n.close()));
    await server?.close();
    await net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mirrors an entry written over HTTP into the overlay, readable without HTTP', async () => {
    const visor = id();
    const entry = clientEntry(visor, 1n);
    await http.postEntry(entry);
    await server!.mirror!.flush();
    const stats = server!.mirror!.stats();
    assert.equal(stats.mirrored, 1);
    assert.ok(stats.pushed >= 1, `pushed ${stats.pushed}`);
    const got = await reader.entry(visor.publicKey);
    assert.ok(got);
    assert.equal(encodeEntry(got), encodeEntry(entry));
  });

  it('mirrors the whole per-edge transport list under both edges, chunked when it outgrows a value', async () => {
    const hub = id();
    const peers = Array.from({ length: 140 }, () => id());
    const list = peers.map((p) => transport(hub, p));
    // 140 transports need more than one chunk.
    assert.ok(encodeTpChunks(hub.publicKey, list).length >= 2);
    await http.registerTransports(hub, list);
    await server!.mirror!.flush();
    const fromDht = await reader.transportsByEdge(hub.publicKey);
    assert.equal(fromDht.length, 140);
    const other = await reader.transportsByEdge(peers[7]!.publicKey);
    assert.equal(other.length, 1);
  });

  it('publishes a visor’s own entry; a restarted publisher is accepted', async () => {
    const visorKey = id();
    const make = async (): Promise<DhtDiscovery> => {
      const node = await listenOverlay({ identity: visorKey, bootstrap: net!.bootstrap });
      extra.push(node);
      await node.start();
      const d = new DhtDiscovery({ node });
      readers.push(d);
      return d;
    };
    const first = await make();
    await first.postEntry(clientEntry(visorKey, 1n));
    await first.node.close();
    first.close();
    // Restarted with no memory of its seq: the node picks one past what the network holds.
    const second = await make();
    const e2 = clientEntry(visorKey, 2n);
    await second.postEntry(e2);
    assert.equal(encodeEntry((await reader.entry(visorKey.publicKey))!), encodeEntry(e2));
    // An entry whose static is someone else's cannot be posted from this node.
    await assert.rejects(second.postEntry(clientEntry(id(), 1n)), /own key/);
  });

  it('hybrid: DHT first, HTTP on a miss; with the server gone, reads still come from the DHT', async () => {
    const hybrid = new HybridDiscovery({ dht: reader, http, breakerFailures: 2, breakerBackoffMs: 60_000 });
    const visor = id();
    const entry = clientEntry(visor, 1n);
    await http.postEntry(entry);
    // Not mirrored yet: the DHT misses, HTTP serves.
    const early = await hybrid.entry(visor.publicKey);
    assert.ok(early);
    let s = hybrid.stats();
    assert.equal(s.served.http, 1);
    assert.equal(s.fallbacks.miss, 1);
    await server!.mirror!.flush();
    assert.ok(await hybrid.entry(visor.publicKey));
    assert.equal(hybrid.stats().served.dht, 1);
    // Stop the discovery server: DHT reads go on, HTTP failures open its breaker.
    await server!.close();
    server = undefined;
    for (let i = 0; i < 3; i++) assert.ok(await hybrid.entry(visor.publicKey));
    const missing = id();
    for (let i = 0; i < 3; i++) assert.equal(await hybrid.entry(missing.publicKey), undefined);
    s = hybrid.stats();
    assert.equal(s.served.dht, 4);
    assert.equal(s.failures.http, 2);
    assert.equal(s.breakers.http.open, true);
    assert.ok(s.fallbacks['breaker-open'] === 0 && s.notFound === 3);
    // Restart it on the same file: writes flow again once the breaker's probe is due.
    server = await DiscoveryServer.start({
      sqlitePath: join(dir, 'disc.sqlite'),
      identity: serverKey,
      bootstrap: net!.bootstrap,
    });
    const http2 = new DiscoveryHttpClient(server.url);
    const again = new HybridDiscovery({ dht: reader, http: http2 });
    const later = clientEntry(visor, 2n);
    await http2.postEntry(later);
    await server.mirror!.flush();
    assert.equal(encodeEntry((await again.entry(visor.publicKey))!), encodeEntry(later));
  });
});
