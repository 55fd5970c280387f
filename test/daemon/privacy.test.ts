// Privacy: /api/privacy says what the node keeps about others from the live config; the opt-in
// private profile runs read-only (answers nobody, so stores nothing for others) and keeps no
// lookup history; retention limits are config keys.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/daemon/config.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { STORAGE_BACKENDS } from '../../src/daemon/storage.js';
import type { PrivacyReport } from '../../src/daemon/privacy.js';
import { PREFIX_RULES } from '../../src/services/anomaly.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

async function report(daemon: Daemon): Promise<PrivacyReport> {
  const res = await fetch(`${daemon.url}api/privacy`);
  assert.equal(res.status, 200);
  return (await res.json()) as PrivacyReport;
}

describe('privacy', { timeout: 60_000 }, () => {
  let net: Testnet;
  const daemons: Daemon[] = [];

  before(async () => {
    net = await createTestnet(5, { node: { ipv6: false } });
  });
  after(async () => {
    for (const d of daemons) await d.stop('test done').catch(() => undefined);
    await net?.destroy();
  });

  it('the standard profile lists what it keeps, with the configured retention and the routers', async () => {
    const config = testConfig(net.bootstrap, {
      'storage.backend': 'memory',
      'privacy.peer_ttl_s': '600',
      'privacy.recent_lookups': '7',
    });
    const daemon = await Daemon.start({ config, log: memoryLogger().log });
    daemons.push(daemon);
    await waitFor(() => daemon.dht.isBootstrapped, 10_000, 'bootstrap');
    const r = await report(daemon);
    assert.equal(r.profile, 'standard');
    assert.equal(r.readOnly, false);
    const peers = r.categories.find((c) => c.key === 'privacy.peer_ttl_s');
    assert.match(peers?.retention ?? '', /^600 s after the last announce/);
    assert.match(r.categories.find((c) => c.key === 'privacy.recent_lookups')?.retention ?? '', /last 7/);
    const prefixes = r.categories.find((c) => /\/24/.test(c.what));
    assert.ok(prefixes, 'statistics keep only prefixes, and say so');
    for (const rule of PREFIX_RULES)
      assert.match(prefixes.why, new RegExp(rule), `names ${rule} as a reason`);
    assert.ok(PREFIX_RULES.includes('subnet-replies'), 'subnet-replies counts reply prefixes');
    assert.deepEqual(
      r.bootstrap.map((b) => b.operator),
      net.bootstrap.map(() => 'chosen by you (node.bootstrap)'),
    );
  });

  it('the private profile answers no queries, stores nothing for others and keeps no lookups', async () => {
    const config = testConfig(net.bootstrap, { 'storage.backend': 'memory', 'privacy.profile': 'private' });
    const daemon = await Daemon.start({ config, log: memoryLogger().log });
    daemons.push(daemon);
    await waitFor(() => daemon.dht.isBootstrapped, 10_000, 'bootstrap');
    // Its own lookups work (read-only nodes still query) ...
    const found = await daemon.dht.findNode(net.nodes[2]!.id, { timeoutMs: 5000 });
    assert.ok(found.length > 0);
    // ... but nobody can store with it: a query gets no answer.
    const address = daemon.dht.address;
    await assert.rejects(net.nodes[1]!.ping({ host: '127.0.0.1', port: address.port, family: 4 }));
    const r = await report(daemon);
    assert.equal(r.profile, 'private');
    assert.equal(r.readOnly, true);
    assert.equal(r.categories.find((c) => c.key === 'privacy.peer_ttl_s')?.held, 0);
    assert.equal(r.categories.find((c) => c.key === 'privacy.recent_lookups')?.held, 0, 'no lookup kept');
  });

  it('privacy.peer_ttl_s reaches every storage backend the daemon opens', async () => {
    const storage = await STORAGE_BACKENDS.memory!('', { redisUrl: '', namespace: '', peerTtlMs: 60_000 });
    try {
      const ih = new Uint8Array(20).fill(3);
      await storage.peers.announce(ih, { host: '10.0.0.1', port: 1, family: 4 }, false, 0);
      assert.equal((await storage.peers.peers(ih, 10, 4, 59_000)).length, 1);
      assert.equal((await storage.peers.peers(ih, 10, 4, 61_000)).length, 0, 'gone after the configured TTL');
    } finally {
      await storage.close();
    }
  });

  it('rejects an unknown profile, naming the key', () => {
    assert.throws(() => loadConfig({ env: {}, flags: { 'privacy.profile': 'ghost' } }), /privacy\.profile/);
  });
});
