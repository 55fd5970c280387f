import { DhtDiscovery } from '../../discovery/adapter.js';
import { DiscoveryHttpClient } from '../../discovery/http-client.js';
import { HybridDiscovery } from '../../discovery/hybrid.js';
import type { OverlayNode } from '../../node/overlay-node.js';
import { listenOverlay } from '../../node/overlay-tcp.js';
import { type DiscEntry, encodeEntry, ENTRY_VERSION, signEntry } from '../../protocols/discovery/entry.js';
import { serviceToJson } from '../../protocols/discovery/service.js';
import { formatUuid, transportToJson } from '../../protocols/discovery/transport-entry.js';
import { OverlayIdentity } from '../../protocols/overlay/identity.js';
import { loadKeyFile } from '../../protocols/overlay/key-file.js';
import { fromHex, toHex } from '../../util/bytes.js';
import { decodeJson } from '../../wire/json.js';
import {
  COMMON_OPTIONS,
  parse,
  parseOverlayPeers,
  parsePositiveInt,
  parseTimeoutMs,
  UsageError,
} from '../args.js';
import { type DiscoverySimReport, simulateDiscovery } from '../../discovery/sim.js';
import { createOutput } from '../output.js';
import { parseDifficulty } from './discovery.js';
import type { Command } from './types.js';

const OPTIONS = {
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
  timeout: COMMON_OPTIONS.timeout,
  bootstrap: COMMON_OPTIONS.bootstrap,
  http: { type: 'string' },
  'full-node': { type: 'string', multiple: true },
  trust: { type: 'string', multiple: true },
  key: { type: 'string', short: 'k' },
  server: { type: 'string', multiple: true },
  type: { type: 'string' },
  difficulty: { type: 'string' },
  visors: { type: 'string' },
  reads: { type: 'string' },
  'steady-reads': { type: 'string' },
  hours: { type: 'string' },
  churn: { type: 'string' },
  'hourly-reads': { type: 'string' },
  'wall-limit': { type: 'string' },
  seed: { type: 'string' },
} as const;

/** A count that may be 0 (a phase skipped). */
function parseCount(text: string | undefined, fallback: number, what: string, max: number): number {
  return text === '0' ? 0 : parsePositiveInt(text, fallback, what, max);
}

function parseFraction(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9.]+$/.test(text) || !(n > 0 && n <= 1))
    throw new UsageError(`${what} must be a fraction above 0 and at most 1 (0.1 = 10 %), got "${text}"`);
  return n;
}

export const disc: Command = {
  name: 'disc',
  summary: 'discovery reads and writes through the hybrid client (DHT first, HTTP fallback)',
  help: `Usage: kadmium disc <entry PK | put-entry | servers | transports PK | services [PK]> [options]

Asks the overlay DHT first and the HTTP discovery server when the DHT has no answer or fails
(each side has a circuit breaker). With --json the output also says which side answered.

  entry PK          the dmsg entry of PK (66 hex characters)
  put-entry         publish your client entry (signed with --key) to both sides; the sequence
                    is one past the one found, so a restarted visor is never refused
  servers           dmsg servers (the DHT's cache, else HTTP)
  transports PK     transports with edge PK (the whole list, all chunks)
  services [PK]     services of PK, or (HTTP) all services of --type
  sim               simulate discovery on virtual time: --visors N (default 1000), 3 full nodes,
                    one server that mirrors; --steady-reads S hybrid reads with the server up
                    (default 300), then the server stops: --reads R DHT-only reads (default
                    300); --hours H of re-announce under --churn F restarts per 10 min (default
                    0 h, 0.1) with --hourly-reads N sampled each hour (default 100);
                    --wall-limit S ends the churn phase after the virtual hour in which S
                    seconds of wall time have passed (the report says how many hours ran).
                    Progress on stderr; --json for the whole report

Options:
      --http URL               the discovery server, e.g. http://127.0.0.1:9090
  -b, --bootstrap PK@HOST:PORT overlay nodes to ask (repeatable); without it, HTTP only
      --full-node PK@HOST:PORT full nodes asked directly when a lookup misses (repeatable)
      --trust PK               a discovery server key whose service mirrors are believed
  -k, --key FILE               put-entry: your overlay key file (kadmium overlay keygen)
      --server PK              put-entry: a delegated dmsg server (repeatable)
      --type T                 services: skysocks, vpn, visor, ...
      --difficulty S/D         the overlay's puzzle bits (default 0/0)
      --timeout SECONDS        give up after this long (default 30)
      --json                   one JSON document
  -h, --help                   this help

Examples:
  kadmium disc entry 02ab...ef --http http://127.0.0.1:9090 --bootstrap PK@127.0.0.1:7900
  kadmium disc put-entry --key me.key --http http://127.0.0.1:9090 --bootstrap PK@127.0.0.1:7900
  kadmium disc servers --http http://127.0.0.1:9090 --json`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const [sub, arg] = positionals;
    if (sub === 'sim') {
      const started = performance.now();
      const report = await simulateDiscovery({
        visors: parsePositiveInt(values.visors, 1_000, '--visors', 100_000),
        reads: parseCount(values.reads, 300, '--reads', 100_000),
        steadyReads: parseCount(values['steady-reads'], 300, '--steady-reads', 100_000),
        hours: parseCount(values.hours, 0, '--hours', 168),
        churn: parseFraction(values.churn, 0.1, '--churn'),
        hourlyReads: parsePositiveInt(values['hourly-reads'], 100, '--hourly-reads', 100_000),
        seed: parsePositiveInt(values.seed, 1, '--seed', 2 ** 31),
        ...(values['wall-limit'] !== undefined
          ? {
              stop: (
                (limitS) => () =>
                  performance.now() - started > limitS * 1000
              )(parsePositiveInt(values['wall-limit'], 0, '--wall-limit', 7 * 86_400)),
            }
          : {}),
        onProgress: (phase, done, total) => {
          if (done === total || done % 100 === 0 || phase.startsWith('churn hours'))
            out.info(`${phase} ${done}/${total} (${Math.round((performance.now() - started) / 1000)} s)`);
        },
      });
      out.result(report);
      out.line(describeSim(report));
      const c = report.churn;
      const allOk = (x: { ok: number; total: number }): boolean => x.ok === x.total;
      return allOk(report.entryReads) &&
        allOk(report.transportReads) &&
        (!c || (allOk(c.entryReads) && allOk(c.transportReads)))
        ? 0
        : 1;
    }
    const timeoutMs = parseTimeoutMs(values.timeout, 30_000);
    const difficulty = parseDifficulty(values.difficulty);
    const peers = parseOverlayPeers;
    const bootstrap = peers(values.bootstrap, '--bootstrap');
    if (bootstrap.length === 0 && !values.http)
      throw new UsageError('give --http URL, --bootstrap PK@HOST:PORT, or both');
    const key = (text: string | undefined): Uint8Array => {
      const k = fromHex(text ?? '');
      if (!k || k.length !== 33) throw new UsageError(`${sub} needs PK: 66 hex characters`);
      return k;
    };
    const identity =
      sub === 'put-entry'
        ? values.key
          ? loadKeyFile(values.key, difficulty)
          : (() => {
              throw new UsageError('put-entry needs --key FILE (kadmium overlay keygen makes one)');
            })()
        : OverlayIdentity.generate(difficulty);
    let node: OverlayNode | undefined;
    let dht: DhtDiscovery | undefined;
    if (bootstrap.length > 0) {
      node = await listenOverlay({ identity, bootstrap, difficulty, advertise: sub === 'put-entry' });
      const joined = await node.start({ timeoutMs });
      if (!joined.ok) out.info(`overlay: ${joined.message}; using HTTP only`);
      else
        dht = new DhtDiscovery({
          node,
          fullNodes: peers(values['full-node'], '--full-node'),
          trustedMirrors: values.trust ?? [],
        });
    }
    const hybrid = new HybridDiscovery({
      ...(dht ? { dht } : {}),
      ...(values.http ? { http: new DiscoveryHttpClient(values.http, timeoutMs) } : {}),
    });
    const served: { op: string; side: string; reason?: string }[] = [];
    hybrid.events.on('discovery:served', (e) => served.push(e));
    try {
      switch (sub) {
        case 'entry': {
          const entry = await hybrid.entry(key(arg));
          out.result({ entry: entry ? entryToJson(entry) : null, served });
          out.line(
            entry
              ? `${JSON.stringify(entryToJson(entry), null, 2)}\n(from ${served.at(-1)?.side})`
              : 'not found',
          );
          return entry ? 0 : 1;
        }
        case 'put-entry': {
          const nowNs = BigInt(Date.now()) * 1_000_000n;
          const current = await hybrid.entry(identity.publicKey).catch(() => undefined);
          const servers = (values.server ?? []).map((s) => key(s));
          const next = signEntry(
            {
              version: ENTRY_VERSION,
              sequence: (current?.sequence ?? 0n) + 1n,
              timestamp: current && current.timestamp > nowNs ? current.timestamp : nowNs,
              static: identity.publicKey,
              client: { delegatedServers: servers },
              clientType: 'visor',
              protocol: '',
            },
            identity,
          );
          await hybrid.postEntry(next);
          out.result({ entry: entryToJson(next), stats: hybrid.stats() });
          out.line(`published sequence ${next.sequence} for ${toHex(identity.publicKey)}`);
          return 0;
        }
        case 'servers': {
          const list = await hybrid.allServers();
          out.result({ servers: list.map(entryToJson), served });
          for (const e of list)
            out.line(
              `${toHex(e.static)}  ${e.server?.address ?? ''}  sessions ${e.server?.availableSessions ?? 0}`,
            );
          if (list.length === 0) out.line('no servers');
          return list.length > 0 ? 0 : 1;
        }
        case 'transports': {
          const list = await hybrid.transportsByEdge(key(arg));
          out.result({ transports: list.map(transportToJson), served });
          for (const t of list) {
            out.line(
              `${formatUuid(t.entry.id)}  ${t.entry.type}  ${toHex(t.entry.edges[0])} <-> ${toHex(t.entry.edges[1])}`,
            );
          }
          if (list.length === 0) out.line('no transports');
          return list.length > 0 ? 0 : 1;
        }
        case 'services': {
          const list = arg
            ? await hybrid.servicesOf(key(arg))
            : values.http
              ? await new DiscoveryHttpClient(values.http, timeoutMs).services(values.type)
              : [];
          out.result({ services: list.map(serviceToJson), served });
          for (const s of list) out.line(`${serviceToJson(s).address as string}  ${s.type}  ${s.version}`);
          if (list.length === 0) out.line('no services');
          return list.length > 0 ? 0 : 1;
        }
        default:
          throw new UsageError(
            `disc needs a subcommand: entry, put-entry, servers, transports or services (got "${sub ?? ''}")`,
          );
      }
    } finally {
      dht?.close();
      await node?.close();
    }
  },
};

/** The entry as the HTTP API serves it (Go's JSON), parsed; sequence and timestamp as strings. */
function entryToJson(e: DiscEntry): unknown {
  const parsed = decodeJson(encodeEntry(e));
  return parsed.ok ? parsed.value : null;
}

function describeSim(report: DiscoverySimReport): string {
  const { entryReads: e, transportReads: t, steady: s, churn: c } = report;
  const pct = (x: number): string => `${(100 * x).toFixed(3)} %`;
  const lines = [
    `${report.options.visors} visors, ${report.options.fullNodes} full nodes; the server mirrored ${report.mirror.mirrored} items`,
    `server up, hybrid client: entries ${s.entryReads.ok}/${s.entryReads.total} (p50 ${s.entryReads.p50Ms} ms, p95 ${s.entryReads.p95Ms} ms), ` +
      `transports ${s.transportReads.ok}/${s.transportReads.total}; served dht ${s.served.dht} / http ${s.served.http}, ` +
      `fell back ${pct(s.fallbackFraction)} (miss ${s.fallbacks.miss}, error ${s.fallbacks.error}, breaker ${s.fallbacks['breaker-open']})`,
    `server stopped, DHT alone: entries ${e.ok}/${e.total} (p50 ${e.p50Ms} ms, p95 ${e.p95Ms} ms), ` +
      `transports by edge ${t.ok}/${t.total} (p50 ${t.p50Ms} ms, p95 ${t.p95Ms} ms)`,
  ];
  if (c) {
    const w = c.worst;
    lines.push(
      `${c.hoursRun} of ${c.hours} h of re-announce, ${pct(c.churn)} of visors restarting per 10 min (${c.restarts} restarts): ` +
        `entries ${c.entryReads.ok}/${c.entryReads.total} (${c.entryReads.byLookup} by lookup alone; p50 ${c.entryReads.p50Ms} ms, p95 ${c.entryReads.p95Ms} ms), ` +
        `transports ${c.transportReads.ok}/${c.transportReads.total} (${c.transportReads.byLookup} by lookup alone; p50 ${c.transportReads.p50Ms} ms, p95 ${c.transportReads.p95Ms} ms)` +
        (w
          ? `; worst hour ${w.atHours}: entries ${w.entries.ok}/${w.entries.total}, transports ${w.transports.ok}/${w.transports.total}`
          : ''),
    );
  }
  lines.push(`(wall ${report.wallMs} ms)`);
  return lines.join('\n');
}
