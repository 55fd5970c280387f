/**
 * `npm run bench -- --only multi`: the universal client's first answer against asking each network
 * alone, in one run, on local testnets of all five networks (loopback only). With
 * `--install-size`, also the install size with and without the optional adapters, measured by
 * `npm ci --omit=dev [--omit=optional] --ignore-scripts` in temporary copies (needs the registry).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestnet } from '../src/node/testnet.js';
import { createOverlayTestnet } from '../src/node/overlay-tcp.js';
import { keypairFromSeed } from '../src/protocols/mainline/bep44.js';
import { systemClock } from '../src/util/clock.js';
import { UniversalClient } from '../src/universal/client.js';
import { createEthereumTestnet } from '../src/universal/adapters/ethereum.js';
import { createHyperswarmTestnet } from '../src/universal/adapters/hyperswarm.js';
import { createIpfsTestnet } from '../src/universal/adapters/ipfs.js';
import { infohashFromName } from '../src/universal/keys.js';
import type { ImportModule } from '../src/universal/load.js';
import type { NetworkName } from '../src/universal/types.js';
import { num, table } from './format.js';

const ROUNDS = 7;
const PROTOCOL = '/kadmium-bench/kad/1.0.0';

interface Row {
  op: string;
  asked: string;
  firstMs: number[];
  firstFrom: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function first(
  iter: AsyncIterable<{ kind: string; network: NetworkName }>,
): Promise<{ ms: number; from: string }> {
  const started = performance.now();
  for await (const r of iter)
    if (r.kind !== 'failure') return { ms: performance.now() - started, from: r.network };
  return { ms: Number.NaN, from: 'none' };
}

export async function runMulti(importModule?: ImportModule): Promise<{ text: string; results: unknown }> {
  const load = importModule ? { importModule } : {};
  const starts = [
    createTestnet(20),
    createOverlayTestnet(10),
    createIpfsTestnet(5, { protocol: PROTOCOL, clock: systemClock, ...load }),
    createEthereumTestnet(6, load),
    createHyperswarmTestnet(5, load),
  ] as const;
  // Every network that started is destroyed, even when another failed to start.
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(settled.map((s) => (s.status === 'fulfilled' ? s.value.destroy() : undefined)));
    throw failed.reason;
  }
  const nets = await Promise.all(starts);
  const [mainline, overlay, ipfs, ethereum, hyper] = nets;
  const config = {
    mainline: { bootstrap: mainline.bootstrap },
    overlay: { bootstrap: overlay.bootstrap },
    ipfs: { bootstrap: ipfs.bootstrap, protocol: PROTOCOL },
    ethereum: { bootstrap: ethereum.bootstrap },
    hyperswarm: { bootstrap: hyper.bootstrap },
    ...load,
  };
  const clients: UniversalClient[] = [];
  try {
    const publisher = await UniversalClient.create({
      ...config,
      keyPair: keypairFromSeed(new Uint8Array(32).fill(7)),
    });
    clients.push(publisher);
    const reader = await UniversalClient.create(config);
    clients.push(reader);
    const rows: Row[] = [];
    const measure = async (
      op: string,
      networks: NetworkName[],
      run: (
        n: NetworkName[] | undefined,
        round: number,
      ) => AsyncIterable<{ kind: string; network: NetworkName }>,
    ): Promise<void> => {
      // Rounds outside, variants inside in a rotating order: no variant always runs first (cold)
      // or after the same one (warm caches, a busy event loop).
      const variants = [undefined, ...networks.map((n) => [n])];
      const byVariant: Row[] = variants.map((asked) => ({
        op,
        asked: asked ? asked[0]! : `universal (${networks.join(', ')})`,
        firstMs: [],
        firstFrom: [],
      }));
      for (let round = 0; round < ROUNDS; round++) {
        for (let j = 0; j < variants.length; j++) {
          const v = (round + j) % variants.length;
          const r = await first(run(variants[v] ?? networks, round));
          byVariant[v]!.firstMs.push(r.ms);
          byVariant[v]!.firstFrom.push(r.from);
        }
      }
      rows.push(...byVariant);
    };
    // Peers: a fresh infohash per round, announced everywhere first, so no cache answers.
    const peerNets: NetworkName[] = ['mainline', 'ipfs', 'hyperswarm'];
    const infohashes = Array.from({ length: ROUNDS * 4 }, (_, i) => infohashFromName(`bench-peers-${i}`));
    for (const ih of infohashes) await publisher.announce(ih, { networks: peerNets });
    let next = 0;
    await measure('findPeers', peerNets, (networks) => reader.findPeers(infohashes[next++]!, { networks }));
    // Records: the same ed25519 key publishes on Mainline, IPFS and Hyperswarm.
    const recNets: NetworkName[] = ['mainline', 'ipfs', 'hyperswarm'];
    await publisher.putRecord(new TextEncoder().encode('bench record'), { networks: recNets });
    const ref = { publicKey: publisher.keyPair.publicKey };
    await measure('getRecord', recNets, (networks) => reader.getRecord(ref, { networks }));

    const text = table([
      ['operation', 'asked', 'median first answer ms', 'runs ms', 'first answer from'],
      ...rows.map((r) => [
        r.op,
        r.asked,
        num(median(r.firstMs), 1),
        r.firstMs.map((x) => num(x, 0)).join(' '),
        [...new Set(r.firstFrom)].join(', '),
      ]),
    ]);
    return { text, results: rows };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(nets.map((n) => n.destroy()));
  }
}

/**
 * The optional packages from node_modules, or (KADMIUM_OPTIONAL_MODULES=DIR) from DIR/node_modules
 * through a loader module there, for a tree whose own install lacks them.
 */
export async function benchImport(): Promise<ImportModule | undefined> {
  const dir = process.env.KADMIUM_OPTIONAL_MODULES;
  if (!dir) return undefined;
  const loader = join(dir, 'kadmium-loader.mjs');
  if (!existsSync(loader)) writeFileSync(loader, 'export default (s) => import(s);\n');
  return ((await import(pathToFileURL(loader).href)) as { default: ImportModule }).default;
}

/** Bytes of node_modules after npm ci in a temp copy of package.json + package-lock.json. */
export function installSize(root: string, omitOptional: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-size-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(dir, f));
    const args = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'];
    if (omitOptional) args.push('--omit=optional');
    execFileSync('npm', args, { cwd: dir, stdio: 'ignore', timeout: 600_000 });
    return Number(
      execFileSync('du', ['-sb', join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
