// The BEP 33 / 51 commands and the BEP 32 / 43 flags, run as real processes against a loopback
// testnet of kadmium nodes that hold announced peers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { toHex } from '../../src/util/bytes.js';
import { run } from './helpers.js';

describe('kadmium scrape / sample-infohashes / --ipv6 / --read-only', { timeout: 60_000 }, () => {
  let net: Testnet;
  const infoHash = new Uint8Array(20).fill(0x3c);
  before(async () => {
    net = await createTestnet(8);
    await net.nodes[2]!.announce(infoHash, { port: 6001, seed: true });
    await net.nodes[3]!.announce(infoHash, { port: 6002 });
  });
  after(() => net?.destroy());

  it('has --help with examples for both new commands', async () => {
    for (const cmd of ['scrape', 'sample-infohashes']) {
      const help = await run([cmd, '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`Usage: kadmium ${cmd}`));
      assert.match(help.stdout, /Examples:/);
      assert.match(help.stdout, /--ipv6/);
      assert.match(help.stdout, /--read-only/);
    }
    const usage = await run(['--help']);
    assert.match(usage.stdout, /scrape .*BEP 33/);
    assert.match(usage.stdout, /sample-infohashes .*BEP 51/);
  });

  it('scrape --json reports seeds and leechers (both on 127.0.0.1: one IP each filter)', async () => {
    const r = await run([
      'scrape',
      toHex(infoHash),
      '-b',
      net.bootstrap[0]!,
      '--read-only',
      '--json',
      '--timeout',
      '10',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.infoHash, toHex(infoHash));
    assert.equal(doc.seeds, 1);
    assert.equal(doc.leechers, 1);
    assert.ok(doc.withFilters >= 1);
  });

  it('sample-infohashes --json finds the announced infohash', async () => {
    const r = await run([
      'sample-infohashes',
      '-b',
      net.bootstrap[0]!,
      '--target',
      toHex(infoHash),
      '--read-only',
      '--json',
      '--timeout',
      '10',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.infohashes.includes(toHex(infoHash)), r.stdout);
    assert.ok(doc.nodes.length >= 1 && doc.nodes.every((n: { num: number }) => n.num >= 0));
  });

  it('get-peers --noseed --read-only --no-ipv6 returns only the leecher', async () => {
    const r = await run([
      'get-peers',
      toHex(infoHash),
      '-b',
      net.bootstrap[0]!,
      '--noseed',
      '--read-only',
      '--no-ipv6',
      '--json',
      '--timeout',
      '10',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).peers, ['127.0.0.1:6002']);
  });

  it('left no read-only CLI node in any routing table (BEP 43)', () => {
    const ports = new Set(net.nodes.map((n) => n.address.port));
    for (const n of net.nodes)
      for (const c of n.table.nodes())
        assert.ok(ports.has(c.address.port), `a CLI node at ${c.address.port}`);
  });

  it('rejects --ipv6 with --no-ipv6 and a bad --target', async () => {
    const both = await run(['scrape', toHex(infoHash), '--ipv6', '--no-ipv6']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--ipv6 or --no-ipv6, not both/);
    const bad = await run(['sample-infohashes', '--target', 'xyz']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--target must be 40 hex characters/);
  });
});
