// Issue 11, defect 6, on real UDP loopback: a flood of valid queries from many ports of one
// address (127.0.0.3), sent as fast as one process can, at a node whose loopback exemption is off.
// The rate limit must drop it, the flooded node's routing table must never hold a flood socket,
// and honest lookups that enter the network through that node, from another address
// (127.0.0.2), must still succeed.
// Issue 14: the same from 64 addresses of one /24 (127.0.5.0/24), one socket each: the per-source
// limit alone would pass 64 times its rate; the per-/24 limit holds the whole subnet to its own,
// and the flooded node's memory stays bounded.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Dht } from '../../src/node/dht.js';
import { createTestnet, type Testnet } from '../../src/node/testnet.js';
import { DEFAULT_RATE_LIMIT, DEFAULT_SUBNET_LIMIT } from '../../src/rpc/rate-limit.js';

const SENDER = join(dirname(fileURLToPath(import.meta.url)), 'flood-sender.js');
/** Extra heap the flooded process may hold after the subnet flood (the limiter's and tokens' state). */
const HEAP_GROWTH_MAX_BYTES = 64 * 1024 * 1024;
const SUBNET = '127.0.5';
const SUBNET_HOSTS = Array.from({ length: 64 }, (_, i) => `${SUBNET}.${i + 1}`);
const HONEST_HOST = '127.0.0.2';
const FLOOD_SOCKETS = 64;
const FLOOD_MAX_DATAGRAMS = 200_000;
const FLOOD_MAX_MS = 5_000;
const LOOKUPS = 100;
const LOOKUP_CONCURRENCY = 10;
const NETWORK_SIZE = 16;
const SWARMS = 10;
const SWARM_PORT = 40_000;
/** Wait after the flood for late answers to the node's pings (a retry goes out after 2 s). */
const SETTLE_MS = 3_000;
/** How long an honest client whose first join round failed waits for its background retry. */
const JOIN_WAIT_MS = 10_000;
/** Whole-test guard: the flood, the lookups and the child's start-up. */
const TEST_TIMEOUT_MS = 60_000;

interface FloodReport {
  sent: number;
  elapsedMs: number;
  answered: number;
}

interface FloodCase {
  name: string;
  /** Where the flood comes from: one host, or many of one /24. */
  hosts: string[];
  /** Flood queries that may pass in `seconds` of flood. */
  allowance(seconds: number): number;
  /** Check the flooded process's heap growth. */
  memory: boolean;
}

const CASES: FloodCase[] = [
  {
    name: 'a query flood from one loopback address, rate limit on for loopback',
    hosts: ['127.0.0.3'],
    allowance: (s) => DEFAULT_RATE_LIMIT.burst + DEFAULT_RATE_LIMIT.perSecond * (s + 1),
    memory: false,
  },
  {
    name: 'a query flood from 64 addresses of one /24, rate limit on for loopback',
    hosts: SUBNET_HOSTS,
    allowance: (s) => DEFAULT_SUBNET_LIMIT.burst + DEFAULT_SUBNET_LIMIT.perSecond * (s + 1),
    memory: true,
  },
];

function startFlood(
  port: number,
  hosts: string[],
): { child: ChildProcessWithoutNullStreams; report: Promise<FloodReport> } {
  const child = spawn(
    process.execPath,
    [
      SENDER,
      '127.0.0.1',
      String(port),
      hosts.join(','),
      String(FLOOD_SOCKETS),
      String(FLOOD_MAX_DATAGRAMS),
      String(FLOOD_MAX_MS),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const report = new Promise<FloodReport>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as FloodReport);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`flood sender exited (${code}) before reporting: ${err}`)));
  });
  return { child, report };
}

for (const c of CASES) floodCase(c);

function floodCase({ name, hosts, allowance: allowed, memory }: FloodCase): void {
  const isFlood = (host: string): boolean => hosts.includes(host);
  describe(name, () => {
    let net: Testnet | undefined;
    let flood: ChildProcessWithoutNullStreams | undefined;
    const clients = new Set<Dht>();

    before(async () => {
      net = await createTestnet(NETWORK_SIZE, { node: { rateLimitLoopback: true, ipv6: false } });
    });

    after(async () => {
      flood?.stdin.end();
      flood?.kill();
      await Promise.all([...clients].map((c) => c.close()));
      await net?.destroy();
    });

    it(
      'is dropped, never enters the routing table, and honest lookups through the node succeed',
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        assert.ok(net);
        const target = net.nodes[0] as Dht;
        const swarms = Array.from({ length: SWARMS }, () => randomBytes(20));
        for (const [i, ih] of swarms.entries()) {
          const announced = await (net.nodes[1 + (i % (NETWORK_SIZE - 1))] as Dht).announce(ih, {
            port: SWARM_PORT + i,
          });
          assert.ok(announced.announcedTo > 0, 'the swarms are announced before the flood');
        }

        let floodPassed = 0;
        let pinged = 0;
        target.events.on('query:in', (e) => {
          if (isFlood(e.from.host)) floodPassed++;
        });
        target.events.on('query:out', (e) => {
          if (isFlood(e.to.host)) pinged++;
        });
        const droppedBefore = target.stats().rpc?.dropped.rateLimited ?? 0;
        let floodInTable = 0;
        const countFloodContacts = (): number =>
          [...target.table.nodes()].filter((n) => isFlood(n.address.host)).length;

        const sampler = setInterval(() => {
          floodInTable = Math.max(floodInTable, countFloodContacts());
        }, 50);
        const heapBefore = process.memoryUsage().heapUsed;
        const started = performance.now();
        const sender = startFlood(target.address.port, hosts);
        flood = sender.child;
        let floodOver = false;
        const report = sender.report.finally(() => {
          floodOver = true;
        });

        // Honest lookups: each by a fresh node on another loopback address that knows only the
        // flooded node, so every one of them enters the network through it.
        let ok = 0;
        let rejoined = 0;
        let honestDropped = 0;
        target.events.on('message:dropped', (e) => {
          if (e.from.host === HONEST_HOST) honestDropped++;
        });
        let duringFlood = 0;
        const failures: string[] = [];
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < LOOKUPS) {
            const i = next++;
            const wasFlooding = !floodOver;
            // Read-only (BEP 43): a client passing through, which the network does not keep.
            const client = new Dht({
              readOnly: true,
              host: HONEST_HOST,
              port: 0,
              ipv6: false,
              bootstrap: net!.bootstrap,
              refreshOnStart: false,
            });
            clients.add(client);
            try {
              // A first round the flood starves (the kernel drops datagrams when the node's socket
              // buffer is full) is retried in the background, as any client does: wait for it.
              const joinedLater = new Promise<boolean>((resolve) => {
                const timer = setTimeout(() => resolve(false), JOIN_WAIT_MS);
                client.events.on('bootstrap', (b) => {
                  if (!b.ok) return;
                  clearTimeout(timer);
                  resolve(true);
                });
              });
              const joined = await client.start({ timeoutMs: 10_000 });
              if (!joined.ok) rejoined += (await joinedLater) ? 1 : 0;
              const peers = client.isBootstrapped
                ? await client.findPeers(swarms[i % SWARMS] as Uint8Array, { timeoutMs: 10_000 })
                : [];
              if (peers.some((p) => p.port === SWARM_PORT + (i % SWARMS))) ok++;
              else failures.push(`lookup ${i}: ${joined.message}; found ${JSON.stringify(peers)}`);
            } catch (err) {
              failures.push(`lookup ${i}: ${String(err)}`);
            } finally {
              if (wasFlooding && !floodOver) duringFlood++;
              clients.delete(client);
              await client.close();
            }
          }
        };
        let flooded: FloodReport;
        let lookupsMs: number;
        try {
          await Promise.all(Array.from({ length: LOOKUP_CONCURRENCY }, worker));
          lookupsMs = Math.round(performance.now() - started);
          flooded = await report;
          // The node's pings to flood sockets may be answered after the flood (by then as a
          // retry): give those answers time to arrive, so that they are refused too.
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        } finally {
          clearInterval(sampler);
        }
        floodInTable = Math.max(floodInTable, countFloodContacts());

        const dropped = (target.stats().rpc?.dropped.rateLimited ?? 0) - droppedBefore;
        const seconds = flooded.elapsedMs / 1000;
        t.diagnostic(
          `flood: ${flooded.sent} datagrams from ${FLOOD_SOCKETS} ports on ${hosts.length} address(es) in ${flooded.elapsedMs} ms ` +
            `(${Math.round(flooded.sent / seconds)}/s); passed the limit ${floodPassed}, dropped ${dropped}; ` +
            `the node queried flood sockets ${pinged} times, they answered ${flooded.answered} before the flood ended; ` +
            `most flood contacts in the table at once ${floodInTable}`,
        );
        t.diagnostic(
          `honest lookups: ${ok}/${LOOKUPS} found their peer (${rejoined} after a retried join), ` +
            `${duringFlood} finished during the flood, in ${lookupsMs} ms; honest datagrams the node dropped ${honestDropped}`,
        );

        assert.ok(dropped > 0, 'the rate limit dropped the flood');
        // What passes is at most the burst plus the sustained rate over the flood (and a second of slack).
        const allowance = allowed(seconds);
        assert.ok(
          floodPassed <= allowance,
          `${floodPassed} flood queries passed, more than the ${allowance} allowed`,
        );
        assert.equal(honestDropped, 0, 'the node dropped nothing the honest address sent');
        if (memory) {
          (globalThis as { gc?: () => void }).gc?.();
          const growth = process.memoryUsage().heapUsed - heapBefore;
          t.diagnostic(
            `heap growth over the flood and the lookups: ${(growth / 1024 / 1024).toFixed(1)} MiB`,
          );
          assert.ok(growth < HEAP_GROWTH_MAX_BYTES, `heap grew ${growth} bytes under the flood`);
        }
        assert.equal(floodInTable, 0, 'no flood socket ever entered the routing table');
        assert.equal(countFloodContacts(), 0);
        assert.ok(
          ok >= 99,
          `only ${ok}/${LOOKUPS} honest lookups succeeded: ${failures.slice(0, 3).join(' | ')}`,
        );
        assert.ok(
          duringFlood >= 10,
          `only ${duringFlood} lookups ran during the flood: it ended too soon to test anything`,
        );
      },
    );
  });
}
