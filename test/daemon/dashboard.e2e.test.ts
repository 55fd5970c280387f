/**
 * End to end: a daemon joined to a 50-node loopback testnet, its dashboard open in headless
 * Chromium (Debian's, via playwright-core), traffic driven through the testnet and the API, and
 * checks that the live figures move. Saves a screenshot (KADMIUM_DASHBOARD_PNG, or the temp dir).
 * Needs /usr/bin/chromium: scripts/deps/chromium.sh installs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { Daemon } from '../../src/daemon/daemon.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { parseMetrics, total } from '../services/prom-parse.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

const NODES = 50;
const CHROMIUM = '/usr/bin/chromium';

function randomHash(i: number): Uint8Array {
  const h = new Uint8Array(20);
  for (let j = 0; j < 20; j++) h[j] = (i * 37 + j * 101 + 13) & 255;
  return h;
}

async function num(page: Page, id: string): Promise<number> {
  const text = (await page.textContent(`#${id}`)) ?? '';
  return Number(text.replace(/[^\d.]/g, ''));
}

describe('dashboard end to end in headless Chromium', { timeout: 180_000 }, () => {
  let net: Testnet;
  let daemon: Daemon;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    net = await createTestnet(NODES);
    daemon = await Daemon.start({
      config: testConfig(net.bootstrap, {
        'stats.tick_ms': '500',
        'anomaly.warmup_ticks': '8',
        'anomaly.min_inbound': '40',
        'anomaly.min_flood': '40',
      }),
      log: memoryLogger().log,
    });
    profile = mkdtempSync(join(tmpdir(), 'kadmium-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 1050 },
      // The page's CSP forbids eval; the test's string probes need it (the page itself does not).
      bypassCSP: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await context?.close();
    await daemon?.stop('test');
    await net?.destroy();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows live figures that change as traffic flows, and flags a flood', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(daemon.url as string);
    // Page-side code is passed as strings: the test compiles without the DOM types.
    await page.waitForFunction("document.getElementById('m-live').textContent === 'live'", null, {
      timeout: 15_000,
    });
    await waitFor(() => daemon.dht.isBootstrapped, 15_000, 'the daemon to join');
    // The tile follows the routing table (its size depends on the random ids; 5+ on 50 nodes).
    const table = daemon.dht.table;
    await waitFor(
      async () => table.size >= 5 && (await num(page, 'm-nodes')) === table.size,
      15_000,
      'the node count on the dashboard',
    ).catch(async (e: Error) => {
      const shown = await page.textContent('#m-nodes');
      throw new Error(`${e.message}: table ${daemon.dht.table.size}, shown ${shown}; ${errors.join('; ')}`);
    });
    const inBefore = await num(page, 'm-in-total');
    const lookupsBefore = await num(page, 'm-lookups');

    // Traffic: testnet nodes look up and announce; the daemon announces through its own API.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        net.nodes.slice(1, 21).map((n, i) => n.announce(randomHash(round * 100 + i), { port: 7000 + i })),
      );
      const res = await fetch(`${daemon.url}api/announce`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ infohash: Buffer.from(randomHash(round + 500)).toString('hex'), port: 6999 }),
      });
      assert.equal(res.status, 200, await res.text());
      await fetch(`${daemon.url}api/peers/${Buffer.from(randomHash(round * 100)).toString('hex')}`);
    }
    await waitFor(async () => (await num(page, 'm-in-total')) > inBefore, 10_000, 'queries received to rise');
    await waitFor(async () => (await num(page, 'm-lookups')) >= lookupsBefore + 6, 10_000, 'lookups to rise');
    const rows = await page.locator('#m-lookup-rows tr').count();
    assert.ok(rows >= 6, `lookup rows: ${rows}`);
    assert.match((await page.textContent('#m-lookup-rows')) ?? '', /announce/);
    assert.match((await page.textContent('#m-latency-summary')) ?? '', /lookups; median <=/);

    // A flood: every testnet node pings the daemon 30 times in a row, all at once, all from 127.0.0.0/24.
    const target = daemon.dht.address;
    await waitFor(() => daemon.stats.detector.warm, 15_000, 'the anomaly warm-up');
    await Promise.all(
      net.nodes.map(async (n) => {
        for (let i = 0; i < 30; i++) await n.ping(target).catch(() => undefined);
      }),
    );
    await page
      .waitForFunction(
        "/subnet-flood|inbound-spike/.test(document.getElementById('m-anomalies').textContent)",
        null,
        { timeout: 15_000 },
      )
      .catch((e) => {
        console.log(
          JSON.stringify(daemon.stats.rates().slice(-40, -28)),
          JSON.stringify(daemon.stats.detector.recent()),
          JSON.stringify(daemon.stats.detector.active()),
        );
        throw e;
      });
    assert.match((await page.textContent('#m-anomalies')) ?? '', /127\.0\.0\.0\/24 sent \d+ of \d+/);

    // The XOR map and the routing table are drawn (not blank canvases).
    const inked = (await page.evaluate(`['c-map', 'c-table', 'c-rates', 'c-latency'].map((id) => {
      const c = document.getElementById(id);
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
      return painted;
    })`)) as number[];
    for (const painted of inked) assert.ok(painted > 200, `canvas pixels painted: ${inked.join(', ')}`);

    // Metrics agree with what the dashboard shows.
    const metrics = parseMetrics(await (await fetch(`${daemon.url}metrics`)).text());
    assert.ok(total(metrics, 'kadmium_anomalies_total') >= 1);
    assert.ok(
      total(metrics, 'kadmium_messages_received_total', { kind: 'query', method: 'ping' }) >= NODES * 30,
    );

    const shot = process.env.KADMIUM_DASHBOARD_PNG
      ? resolve(process.env.KADMIUM_DASHBOARD_PNG)
      : join(tmpdir(), 'kadmium-dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`# dashboard screenshot: ${shot}\n`);
    assert.deepEqual(errors, [], 'no script errors in the page');
  });
});
