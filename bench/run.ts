/**
 * `npm run bench`: kadmium side by side with the `bencode` package, bittorrent-dht and a raw
 * dgram echo server, all on this machine and loopback only. Every section is bounded in count and
 * time. Options: --only codec,serving,router,lookups,items,storage,storage-cap,overlay-crypto,
 * channel,overlay-rpc,discovery,multi  --json FILE (write the raw numbers); --install-size (with
 * multi: npm ci in temp copies, needs the registry); --latency LIST (lookups: kadmium's latency
 * techniques instead of the default, `none` for none).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runChannel } from './channel.js';
import { runCodec } from './codec.js';
import { runDiscoveryBench } from './discovery.js';
import { benchImport, installSize, runMulti } from './multi.js';
import { benchItems } from './items.js';
import { runLookups } from './lookups.js';
import { runRouter } from './router.js';
import { runOverlayCrypto } from './overlay-crypto.js';
import { runOverlayRpc } from './overlay-rpc.js';
import { runServing } from './serving.js';
import { benchStorage } from './storage.js';
import { benchStorageCap, capTable } from './storage-cap.js';
import { num, table } from './format.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    json: { type: 'string' },
    'install-size': { type: 'boolean' },
    latency: { type: 'string' },
  },
});
const only = values.only?.split(',') ?? [
  'codec',
  'serving',
  'router',
  'lookups',
  'items',
  'storage',
  'storage-cap',
  'overlay-crypto',
  'channel',
  'overlay-rpc',
  'discovery',
];
const results: Record<string, unknown> = {
  node: process.version,
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
  date: new Date().toISOString(),
};

function section(title: string, text: string): void {
  process.stdout.write(`\n## ${title}\n\n${text}\n`);
}

process.stdout.write(`kadmium benchmarks: Node ${process.version}, ${results.cpus as string}\n`);

if (only.includes('codec')) {
  const codec = runCodec();
  results.codec = codec.rows;
  section('Codec: encode + decode round trips per second (target >= 5x bencode)', codec.text);
}
if (only.includes('serving')) {
  const serving = await runServing();
  results.serving = serving.results;
  section(
    'Serving: queries answered per second, load generator in another process, 64 outstanding (targets: ping >= 0.8x echo, find_node and get_peers >= 0.6x)',
    serving.text,
  );
}
if (only.includes('router')) {
  const router = await runRouter();
  results.router = router.results;
  section(
    'Router mode beside the node: queries per second (64 outstanding) and memory per contact (docs/ROUTER.md)',
    router.text,
  );
}
if (only.includes('lookups')) {
  const lookups = await runLookups(500, 100, values.latency);
  results.lookups = lookups.rows;
  section(
    'Lookups: 500-node loopback testnet, one operation at a time (targets: median <= bittorrent-dht, datagrams <= 0.5x)',
    lookups.lookupText,
  );
  section('Memory per node at 500 nodes, each in its own process (target: heap <= 0.5x)', lookups.memoryText);
}
if (only.includes('items')) {
  const rows = await benchItems();
  results.items = rows;
  section(
    'BEP 44 items: put/get latency on a 50-node loopback testnet',
    table([
      ['operation', 'median ms', 'p95 ms', 'samples'],
      ...rows.map((r) => [r.operation, num(r.medianMs, 1), num(r.p95Ms, 1), r.samples]),
    ]),
  );
}
if (only.includes('storage')) {
  const rows = await benchStorage();
  results.storage = rows;
  section(
    'Storage: sequential immutable puts per second per backend',
    table([['backend', 'items/s'], ...rows.map((r) => [r.backend, num(r.itemsPerSec)])]),
  );
}
if (only.includes('storage-cap')) {
  const rows = await benchStorageCap();
  results.storageCap = rows;
  section(
    'Storage at the caps: announces and puts per second below and at the cap, one at a time (target: at the cap >= 0.5x below)',
    capTable(rows, true),
  );
}
if (only.includes('overlay-crypto')) {
  const crypto = runOverlayCrypto();
  results.overlayCrypto = { rows: crypto.rows, expected: crypto.expected };
  section('Overlay building blocks: keys, items, puzzles, JSON (one core)', crypto.text);
}
if (only.includes('channel')) {
  const channel = await runChannel();
  results.channel = channel.results;
  section(
    'Overlay secure channel: handshake, records, loopback TCP echo beside raw TCP, memory',
    channel.text,
  );
}
if (only.includes('overlay-rpc')) {
  const overlayRpc = await runOverlayRpc();
  results.overlayRpc = overlayRpc.results;
  section(
    'Overlay RPC: one node serving Ping and FindNode over pooled loopback TCP, beside raw TCP and dht-rpc (goal >= 0.5x raw), memory',
    overlayRpc.text,
  );
}
if (only.includes('discovery')) {
  const discovery = await runDiscoveryBench();
  results.discovery = discovery.rows;
  section(
    'Discovery server: entry writes per second over loopback HTTP, mirroring into the overlay off and on (docs/DISCOVERY.md)',
    discovery.text,
  );
}
if (only.includes('multi')) {
  const multi = await runMulti(await benchImport());
  results.multi = multi.results;
  section(
    'Multi-DHT: time to the first answer, universal client vs each network alone (7 rounds each, rotating order, local testnets)',
    multi.text,
  );
  if (values['install-size']) {
    const core = installSize(process.cwd(), true);
    const full = installSize(process.cwd(), false);
    results.installSize = { core, full };
    section(
      'Install size: npm ci --omit=dev --ignore-scripts, without and with the optional adapters',
      table([
        ['install', 'node_modules bytes'],
        ['--omit=optional', num(core)],
        ['with optional adapters', num(full)],
      ]),
    );
  }
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
