/**
 * Discovery server writes per second with mirroring off and on, in the same run (issue 13;
 * Skywire's dmsg-discovery spent 84 % CPU mirroring through full Kademlia puts).
 *
 * Each server takes the same number of distinct, pre-signed client entries over loopback HTTP,
 * 16 requests in flight. "Mirrored" counts until every accepted write was signed, stored in the
 * server's own full node and pushed (PutBatch) to the closest nodes of a 6-node overlay testnet
 * that trusts the server key. The testnet runs in this process too, so the receivers' signature
 * checks share the CPU with the server: a pessimistic figure for mirroring.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryServer } from '../src/discovery/server.js';
import { createOverlayTestnet } from '../src/node/overlay-tcp.js';
import { type DiscEntry, encodeEntry, signEntry } from '../src/protocols/discovery/entry.js';
import { OverlayIdentity } from '../src/protocols/overlay/identity.js';
import { toHex } from '../src/util/bytes.js';
import { SeededRandom } from '../src/util/random.js';
import { num, table } from './format.js';

const WRITES = 1_500;
const IN_FLIGHT = 16;
/** Wait at most this long for the mirror to drain. */
const DRAIN_LIMIT_MS = 120_000;

export interface DiscoveryBenchRow {
  mode: string;
  writes: number;
  acceptedPerSec: number;
  mirroredPerSec: number | undefined;
  pushed: number | undefined;
}

function entries(count: number, seed: number): string[] {
  const ids = OverlayIdentity.simulatedBatch(count, new SeededRandom(seed));
  const now = BigInt(Date.now()) * 1_000_000n;
  return ids.map((who) => {
    const e: DiscEntry = {
      version: '0.0.1',
      sequence: 1n,
      timestamp: now,
      static: who.publicKey,
      client: { delegatedServers: [] },
      clientType: 'visor',
      protocol: '',
    };
    return encodeEntry(signEntry(e, who));
  });
}

async function post(url: string, bodies: string[]): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++] as string;
      const res = await fetch(`${url}/dmsg-discovery/entry/`, { method: 'POST', body });
      await res.text();
      if (res.status !== 200) failed++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return failed;
}

export async function runDiscoveryBench(): Promise<{ rows: DiscoveryBenchRow[]; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kadmium-bench-disc-'));
  const serverKey = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
  const net = await createOverlayTestnet(6, {
    storeOptions: { trusted: new Set([toHex(serverKey.publicKey)]) },
  });
  const rows: DiscoveryBenchRow[] = [];
  try {
    for (const mirror of [false, true]) {
      const bodies = entries(WRITES, mirror ? 2 : 1);
      const server = await DiscoveryServer.start({
        sqlitePath: join(dir, `disc-${mirror}.sqlite`),
        ...(mirror ? { identity: serverKey, bootstrap: net.bootstrap } : {}),
        mirror,
      });
      try {
        const started = performance.now();
        const failed = await post(server.url, bodies);
        const acceptedMs = performance.now() - started;
        if (failed > 0) throw new Error(`${failed} writes refused`);
        let mirroredMs: number | undefined;
        if (server.mirror) {
          const until = performance.now() + DRAIN_LIMIT_MS;
          while (server.mirror.stats().mirrored < WRITES && performance.now() < until)
            await server.mirror.flush();
          mirroredMs = performance.now() - started;
        }
        rows.push({
          mode: mirror ? 'mirroring on' : 'mirroring off',
          writes: WRITES,
          acceptedPerSec: WRITES / (acceptedMs / 1000),
          mirroredPerSec:
            mirroredMs === undefined
              ? undefined
              : (server.mirror?.stats().mirrored ?? 0) / (mirroredMs / 1000),
          pushed: server.mirror?.stats().pushed,
        });
      } finally {
        await server.close();
      }
    }
  } finally {
    await net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const off = rows[0]?.acceptedPerSec ?? 0;
  return {
    rows,
    text: table([
      ['server', 'writes', 'accepted/s', 'accepted and mirrored/s', 'vs off', 'items pushed'],
      ...rows.map((r) => [
        r.mode,
        r.writes,
        num(r.acceptedPerSec),
        r.mirroredPerSec === undefined ? '-' : num(r.mirroredPerSec),
        off > 0 ? `${((r.mirroredPerSec ?? r.acceptedPerSec) / off).toFixed(2)}x` : '-',
        r.pushed === undefined ? '-' : num(r.pushed),
      ]),
    ]),
  };
}
