// Two overlay nodes that cannot dial each other reach each other through a third node's splice
// relay, and put/get works between them. B stands for a NATed node: the port it names refuses
// every dial. All relay traffic passes a tapping proxy, which sees what the relay sees: the item's
// plaintext never crosses it (the secure channel stays end to end on the node path).
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/daemon/config.js';
import type { OverlayNode } from '../../src/node/overlay-node.js';
import { listenOverlay, overlayRelay, overlayTransportStats } from '../../src/node/overlay-tcp.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { makeAddress, type Address } from '../../src/transport/address.js';
import { callViaRelay } from '../../src/transport/stream/relay-registration.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const SECRET = 'plaintext-the-relay-must-never-see';
const identity = (): OverlayIdentity => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });

/** A TCP proxy in front of `to` that records every byte either way. */
function tap(to: Address, seen: Buffer[]): Promise<{ server: Server; address: Address }> {
  const server = createServer((client: Socket) => {
    const upstream = connect({ host: to.host, port: to.port });
    client.on('data', (c: Buffer) => {
      seen.push(Buffer.from(c));
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      seen.push(Buffer.from(c));
      client.write(c);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, address: makeAddress('127.0.0.1', (server.address() as { port: number }).port) }),
    ),
  );
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('overlay nodes through a splice relay', { timeout: 30_000 }, () => {
  const nodes: OverlayNode[] = [];
  const seen: Buffer[] = [];
  let proxy: Server | undefined;
  let relay!: OverlayNode;
  let a!: OverlayNode;
  let b!: OverlayNode;

  before(async () => {
    relay = await listenOverlay({ identity: identity(), bootstrap: [], offerRelay: true });
    nodes.push(relay);
    await relay.start();
    const offered = overlayRelay(relay);
    assert.ok(offered, 'the relay offers a splice relay');
    const t = await tap(offered.address, seen);
    proxy = t.server;
    const boot = { publicKey: relay.publicKey, address: relay.address };
    // B: reachable only through the relay (its advertised port refuses connections).
    const unreachable = await closedPort();
    b = await listenOverlay({
      identity: identity(),
      bootstrap: [boot],
      relays: [t.address],
      advertisedPort: unreachable,
    });
    nodes.push(b);
    await b.start({ timeoutMs: 5_000 });
    for (let i = 0; i < 100 && overlayRelay(relay)?.stats.listeners !== 1; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(overlayRelay(relay)?.stats.listeners, 1, 'B waits at the relay');
    a = await listenOverlay({
      identity: identity(),
      bootstrap: [boot, { publicKey: b.publicKey, address: makeAddress('127.0.0.1', unreachable) }],
      relays: [t.address],
    });
    nodes.push(a);
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  });

  it('A reaches B (direct dial refused) through the relay; put/get between them works', async () => {
    const joined = await a.start({ timeoutMs: 5_000 });
    assert.equal(joined.responded, 2, `both bootstrap nodes answered: ${joined.message}`);
    const sa = overlayTransportStats(a);
    assert.ok(sa && sa.relayedOpened >= 1, `A opened through the relay: ${JSON.stringify(sa)}`);
    assert.ok((overlayTransportStats(b)?.relayedAccepted ?? 0) >= 1);
    const stats = overlayRelay(relay)?.stats;
    assert.ok(stats && stats.spliced >= 1 && stats.calls >= 1, JSON.stringify(stats));

    const put = await b.put(enc(SECRET), { salt: enc('r'), timeoutMs: 10_000 });
    assert.ok(put.storedLocally || put.stored >= 1);
    const got = await a.get(b.publicKey, { salt: enc('r'), timeoutMs: 10_000 });
    assert.equal(got && new TextDecoder().decode(got.item.v), SECRET);
    assert.equal(got?.sources, 2, 'A heard the item from both R and B (B through the relay)');

    const put2 = await a.put(enc(SECRET + '-2'), { salt: enc('r'), timeoutMs: 10_000 });
    assert.ok(put2.stored >= 2, `A's item stored on R and on B: ${put2.stored} of ${put2.asked}`);

    const all = Buffer.concat(seen);
    assert.ok(all.length > 1_000, `the tap saw the relayed traffic (${all.length} bytes)`);
    assert.equal(all.indexOf(SECRET), -1, 'no plaintext crossed the relay');
  });

  it('a call for a key nobody registered is refused at once', async () => {
    const offered = overlayRelay(relay);
    assert.ok(offered);
    const before = offered.stats.refused;
    const socket = await callViaRelay(offered.address, identity().publicKey);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    socket.destroy();
    assert.ok(closed, 'the relay closed the call');
    assert.equal(overlayRelay(relay)?.stats.refused, before + 1);
  });
});

describe('overlay relay settings', () => {
  it('reads overlay.offer_relay, overlay.relay_port and overlay.relays, and refuses a bad relay', () => {
    const c = loadConfig({
      env: {},
      flags: {
        data_dir: tmpdir(),
        'overlay.offer_relay': 'true',
        'overlay.relay_port': '7901',
        'overlay.relays': '198.51.100.7:7901,[2001:db8::7]:7901',
      },
    });
    assert.equal(c.overlay.offerRelay, true);
    assert.equal(c.overlay.relayPort, 7901);
    assert.deepEqual(c.overlay.relays, ['198.51.100.7:7901', '[2001:db8::7]:7901']);
    assert.throws(
      () => loadConfig({ env: {}, flags: { data_dir: tmpdir(), 'overlay.relays': 'nowhere' } }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('overlay.relays'),
    );
  });
});
