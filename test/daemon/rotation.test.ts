// Privacy rotation (privacy.rotate_every_s): the daemon replaces its node with one on a fresh id
// and a fresh ephemeral port, rejoins, and the API keeps answering through the new node; the
// storage and statistics carry over, and stopping leaves no socket or timer behind.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Daemon } from '../../src/daemon/daemon.js';
import type { PrivacyReport } from '../../src/daemon/privacy.js';
import type { RotationEvent } from '../../src/daemon/rotation.js';
import { freshNodeId, MAX_ROTATION_CONTACTS, successorTable } from '../../src/node/rotation.js';
import { isSecureId } from '../../src/protocols/mainline/secure-id.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { systemRandom } from '../../src/util/random.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

/** Short enough for a test, long enough that a lookup fits between two rotations. */
const TEST_ROTATE_EVERY_MS = 1_500;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('privacy rotation', { timeout: 60_000 }, () => {
  let net: Testnet | undefined;
  let daemon: Daemon | undefined;
  const rotations: RotationEvent[] = [];
  const logged = memoryLogger();

  before(async () => {
    net = await createTestnet(8, { node: { ipv6: false } });
    const base = testConfig(net.bootstrap, { 'storage.backend': 'memory', 'privacy.profile': 'private' });
    assert.equal(base.privacy.rotateEveryMs, 3_600_000, 'the private profile rotates hourly by default');
    // The config key's floor is 60 s; the test shortens the loaded value.
    const config = { ...base, privacy: { ...base.privacy, rotateEveryMs: TEST_ROTATE_EVERY_MS } };
    daemon = await Daemon.start({ config, log: logged.log });
    daemon.events.on('rotated', (e) => rotations.push(e));
  });
  after(async () => {
    await daemon?.stop('test done').catch(() => undefined);
    await net?.destroy();
  });

  it('changes the node id and UDP port, and lookups through the API still succeed', async () => {
    const d = daemon!;
    await waitFor(() => d.dht.isBootstrapped, 10_000, 'bootstrap');
    const firstId = hex(d.dht.id);
    const firstPort = d.dht.address.port;
    const infohash = new Uint8Array(20).fill(0x5a);
    await net!.nodes[3]!.announce(infohash, { port: 4321, timeoutMs: 5_000 });

    await waitFor(() => rotations.length >= 1, 10_000, 'a rotation');
    const r = rotations[0]!;
    assert.equal(r.previousId, firstId);
    assert.equal(r.previousPort, firstPort);
    assert.notEqual(r.id, firstId, 'a fresh id');
    assert.notEqual(r.port, firstPort, 'a fresh port');
    const node = d.dht;
    if (hex(node.id) === r.id) {
      assert.equal(node.address.port, r.port);
    } else assert.ok(rotations.length >= 2, 'the node moved on again');
    assert.equal(d.stats.source, d.dht, 'statistics follow the new node');

    // The API answers through whichever node is current; a request caught by a rotation gets a
    // retryable 503, so retry a few times (bounded) as a client would.
    await waitFor(() => d.dht.isBootstrapped, 10_000, 'the rotated node to rejoin');
    let peers: { host: string; port: number }[] = [];
    for (let attempt = 0; attempt < 5 && peers.length === 0; attempt++) {
      const res = await fetch(`${d.url}api/peers/${hex(infohash)}?timeout=5`);
      if (res.status === 503) {
        const body = (await res.json()) as { error: { code: string } };
        assert.equal(body.error.code, 'CLOSED');
        assert.equal(res.headers.get('retry-after'), '1');
        continue;
      }
      assert.equal(res.status, 200);
      peers = ((await res.json()) as { peers: { host: string; port: number }[] }).peers;
    }
    assert.ok(
      peers.some((p) => p.port === 4321),
      `the announced peer found after rotation: ${JSON.stringify(peers)}`,
    );

    const report = (await (await fetch(`${d.url}api/privacy`)).json()) as PrivacyReport;
    assert.equal(report.rotation.everyS, TEST_ROTATE_EVERY_MS / 1000);
    assert.ok(report.rotation.rotations >= 1);
    assert.match(report.rotation.doesNotHide, /IP address/);
  });

  it('a lookup running when the node rotates finishes or fails with a retryable 503', async () => {
    const d = daemon!;
    const target = hex(new Uint8Array(20).fill(0x33));
    const pending = fetch(`${d.url}api/peers/${target}?timeout=5`);
    await d.rotate();
    const res = await pending;
    if (res.status !== 200) {
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /retry/);
    }
    const after = await fetch(`${d.url}health`);
    assert.equal(after.status, 200, 'the API keeps serving across rotations');
  });

  it('stopping after rotations leaves only the testnet sockets open', async () => {
    const d = daemon!;
    await waitFor(() => rotations.length >= 2, 10_000, 'a second rotation');
    assert.ok(
      logged.lines.some((l) =>
        /^privacy rotation \d+: node [0-9a-f]{40} on udp port \d+/.test(String(l.msg)),
      ),
      'each rotation is logged',
    );
    // Listeners on the long-lived statistics are added once, not once per rotation.
    const anomaly = { rule: 'test-rule', message: 'x', subject: 'y', ticks: 1 };
    d.stats.events.emit(
      'anomaly',
      anomaly as unknown as Parameters<typeof d.stats.events.emit<'anomaly'>>[1],
    );
    const said = logged.lines.filter((l) => String(l.msg).startsWith('anomaly test-rule')).length;
    assert.equal(said, 1, 'one log line per anomaly after rotations');
    await d.stop('test done');
    // A closed socket's handle goes on the next turns of the loop; a leaked one never does.
    const udp = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    await waitFor(() => udp() === net!.nodes.length, 2_000, `only the testnet's sockets (now ${udp()})`);
    assert.equal(d.dht.address.port, rotations.at(-1)!.port, 'the last rotation was the one served');
  });
});

describe('rotation identity', () => {
  it('a fresh id is BEP 42-secure for a known public address, random otherwise', () => {
    const id = freshNodeId('203.0.113.7', systemRandom);
    assert.ok(isSecureId(id, '203.0.113.7'));
    assert.notEqual(hex(freshNodeId('203.0.113.7', systemRandom)), hex(id));
    assert.equal(freshNodeId(undefined, systemRandom).length, 20);
    assert.equal(freshNodeId('127.0.0.1', systemRandom).length, 20);
  });

  it('the successor keeps a bounded spread of the contacts and none of the old id', () => {
    const nodes = Array.from({ length: 300 }, (_, i) => ({
      id: i.toString(16).padStart(40, '0'),
      host: '10.0.0.1',
      port: i + 1,
    }));
    const old = { id: 'ab'.repeat(20), nodes };
    const next = successorTable(old, '198.51.100.2', systemRandom);
    assert.notEqual(next.id, old.id);
    assert.equal(next.nodes.length, MAX_ROTATION_CONTACTS);
    assert.equal(next.nodes[0]?.port, 1);
    assert.ok((next.nodes.at(-1)?.port ?? 0) > 280, 'taken across the table, not its head');
    assert.ok(isSecureId(Buffer.from(next.id, 'hex'), '198.51.100.2'));
  });
});
