import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

/**
 * The layer rules of docs/ARCHITECTURE.md, enforced: every relative import in src/ is checked
 * against what its layer may import. Lower layers never import upper ones.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** The node and everything under it: what sim and services may import, and more above them. */
const NODE_AND_BELOW = [
  'node',
  'protocols/mainline',
  'protocols/stun',
  'protocols/overlay',
  'kademlia',
  'rpc',
  'storage',
  'wire',
  'transport/stream',
  'transport',
  'util',
];

const MAY_IMPORT: Record<string, string[]> = {
  util: [],
  transport: ['util'],
  // The secure channel sits on the transport layer's addresses; plain transport never imports it.
  'transport/stream': ['transport', 'util'],
  wire: ['util', 'transport'],
  rpc: ['transport/stream', 'transport', 'wire', 'util'],
  kademlia: ['transport', 'util'],
  storage: ['transport', 'wire', 'util', 'protocols/mainline/bep44.ts'],
  'protocols/mainline': ['kademlia', 'rpc', 'storage', 'wire', 'transport', 'util'],
  'protocols/stun': ['transport', 'util'],
  'protocols/overlay': ['kademlia', 'rpc', 'storage', 'wire', 'transport/stream', 'transport', 'util'],
  // Discovery records: pure, signed with the overlay's identities.
  'protocols/discovery': ['protocols/overlay', 'wire', 'util'],
  node: NODE_AND_BELOW.slice(1),
  sim: NODE_AND_BELOW,
  services: NODE_AND_BELOW,
  daemon: ['services', ...NODE_AND_BELOW],
  // The discovery server, adapter and hybrid client: beside the daemon, above the node.
  discovery: ['protocols/discovery', 'sim', ...NODE_AND_BELOW],
  // The universal client sits on the node (Mainline, overlay) and loads other networks' packages itself.
  universal: NODE_AND_BELOW,
  cli: ['daemon', 'discovery', 'protocols/discovery', 'universal', 'services', 'sim', ...NODE_AND_BELOW],
};

function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path).replaceAll('\\', '/');
  if (rel.startsWith('protocols/mainline/')) return 'protocols/mainline';
  if (rel.startsWith('protocols/overlay/')) return 'protocols/overlay';
  if (rel.startsWith('protocols/discovery/')) return 'protocols/discovery';
  if (rel.startsWith('protocols/stun/')) return 'protocols/stun';
  if (rel.startsWith('transport/stream/')) return 'transport/stream';
  const top = rel.split('/')[0] ?? '';
  return top in MAY_IMPORT ? top : undefined;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('architecture', () => {
  it('lower layers never import upper ones', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of files(SRC)) {
      const from = layerOf(file);
      if (!from) continue; // src/index.ts, the package entry, may export anything
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = resolve(dirname(file), (match[1] as string).replace(/\.js$/, '.ts'));
        const to = layerOf(target);
        if (!to || to === from) continue;
        checked++;
        const rel = relative(SRC, target).replaceAll('\\', '/');
        const allowed = MAY_IMPORT[from] ?? [];
        if (!allowed.includes(to) && !allowed.includes(rel)) {
          violations.push(`${relative(SRC, file)} (${from}) imports ${rel} (${to})`);
        }
      }
    }
    assert.ok(checked > 100, `only ${checked} cross-layer imports found; is the scan broken?`);
    assert.deepEqual(violations, []);
  });
});
