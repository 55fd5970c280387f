/**
 * End to end: the dashboard's overlay panel in headless Chromium. A daemon with the overlay on,
 * joined to a loopback overlay testnet, shows its PUBKEY@HOST:PORT, contacts, items and the
 * lookups an API put and get cause; a daemon with the overlay off keeps the panel hidden.
 * Needs /usr/bin/chromium (scripts/deps/chromium.sh).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { Daemon } from '../../src/daemon/daemon.js';
import {
  createOverlayTestnet,
  formatOverlayBootstrap,
  type OverlayTestnet,
} from '../../src/node/overlay-tcp.js';
import { memoryLogger, testConfig, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

async function num(page: Page, id: string): Promise<number> {
  return Number(((await page.textContent(`#${id}`)) ?? '').replace(/[^\d.]/g, ''));
}

describe('dashboard overlay panel in headless Chromium', { timeout: 120_000 }, () => {
  let net: OverlayTestnet;
  let withOverlay: Daemon;
  let without: Daemon;
  let context: BrowserContext;
  let profile: string;

  before(async () => {
    net = await createOverlayTestnet(6);
    withOverlay = await Daemon.start({
      config: testConfig([], {
        'storage.backend': 'memory',
        'stats.tick_ms': '300',
        'overlay.enabled': 'true',
        'overlay.host': '127.0.0.1',
        'overlay.port': '0',
        'overlay.difficulty': '0/0',
        'overlay.bootstrap': formatOverlayBootstrap(net.nodes[0] as OverlayTestnet['nodes'][number]),
      }),
      log: memoryLogger().log,
    });
    without = await Daemon.start({
      config: testConfig([], { 'storage.backend': 'memory', 'stats.tick_ms': '300' }),
      log: memoryLogger().log,
    });
    profile = mkdtempSync(join(tmpdir(), 'kadmium-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 1050 },
      bypassCSP: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
  });

  after(async () => {
    await context?.close();
    await withOverlay?.stop('test');
    await without?.stop('test');
    await net?.destroy();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('shows the overlay address, contacts, items and recent lookups when enabled', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(withOverlay.url as string);
    await page.waitForSelector('#overlay', { state: 'visible', timeout: 15_000 });
    assert.equal(await page.textContent('#o-address'), withOverlay.overlay?.address);
    await waitFor(async () => (await num(page, 'o-contacts')) >= 3, 15_000, 'overlay contacts on the page');

    const put = await fetch(`${withOverlay.url}api/overlay/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'panel', salt: 'dash' }),
    });
    assert.equal(put.status, 200, await put.clone().text());
    const pub = ((await put.json()) as { publicKey: string }).publicKey;
    const got = await fetch(`${withOverlay.url}api/overlay/items/${pub}?salt=dash`);
    assert.equal(got.status, 200);
    await waitFor(async () => (await num(page, 'o-lookups')) >= 2, 10_000, 'overlay lookups on the page');
    assert.match((await page.textContent('#o-lookup-rows')) ?? '', /get_value/);
    // The daemon is among the closest of its own item in a 7-node network, so it stores a copy.
    await waitFor(async () => (await num(page, 'o-items')) >= 1, 10_000, 'the stored item on the page');
    assert.match((await page.textContent('#o-tiers')) ?? '', /\d+ public/);
    assert.deepEqual(errors, []);
    await page.screenshot({ path: join(tmpdir(), 'kadmium-dashboard-overlay.png'), fullPage: true });
    await page.close();
  });

  it('keeps the panel hidden when the overlay is off', async () => {
    const page = await context.newPage();
    await page.goto(without.url as string);
    await page.waitForFunction("document.getElementById('m-live').textContent === 'live'", null, {
      timeout: 15_000,
    });
    assert.equal(await page.isVisible('#overlay'), false);
    await page.close();
  });
});
