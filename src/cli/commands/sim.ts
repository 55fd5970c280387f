import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { renderHtml } from '../../sim/report-html.js';
import { formatSummary } from '../../sim/report-text.js';
import type { BuildMode, SimOptions, SimProgress } from '../../sim/runner.js';
import { SCENARIOS } from '../../sim/scenarios.js';
import { ADVERSARY_KINDS, type AdversaryKind } from '../../sim/adversary.js';
import { OVERLAY_ADVERSARY_KINDS, type OverlayAdversaryKind } from '../../sim/overlay-adversary.js';
import { OVERLAY_SIM_DEFAULTS, simulateOverlay } from '../../sim/overlay-sim.js';
import { OVERLAY_DEFAULT_LATENCY, OVERLAY_LATENCY_TECHNIQUES } from '../../node/overlay-options.js';
import { simulate } from '../../sim/simulate.js';
import { MAX_WARM_UP_REFRESHES } from '../../sim/warm-up.js';
import { checkTechniques, DEFAULT_LATENCY, LATENCY_TECHNIQUES } from '../../node/latency.js';
import { COMMON_OPTIONS, parse, parsePositiveInt, UsageError } from '../args.js';
import { createOutput, jsonReplacer } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  nodes: { type: 'string', short: 'n' },
  seed: { type: 'string', short: 's' },
  scenario: { type: 'string' },
  lookups: { type: 'string' },
  build: { type: 'string' },
  'warm-up': { type: 'string' },
  nat: { type: 'string' },
  symmetric: { type: 'string' },
  punch: { type: 'string' },
  relay: { type: 'string' },
  'read-only': { type: 'string' },
  rotate: { type: 'string' },
  'rotate-every': { type: 'string' },
  loss: { type: 'string' },
  churn: { type: 'string' },
  minutes: { type: 'string' },
  report: { type: 'string' },
  dht: { type: 'string' },
  paths: { type: 'string' },
  alpha: { type: 'string' },
  adversary: { type: 'string' },
  fraction: { type: 'string' },
  reputation: { type: 'boolean' },
  'no-token-replay': { type: 'boolean' },
  'secure-ids': { type: 'boolean' },
  latency: { type: 'string' },
  'silent-dials': { type: 'boolean' },
  'join-contacts': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
} as const;

/** Heap a run needs: generous per node, plus headroom for the lookups. */
const HEAP_BYTES_PER_NODE = 120 * 1024;

function fraction(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (!Number.isFinite(x) || x < 0 || x > 1)
    throw new UsageError(`${what} must be a number 0-1, got "${text}"`);
  return x;
}

function progressBar(p: SimProgress): string {
  const width = 30;
  const f = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const fill = Math.round(f * width);
  return `\r${p.phase.padEnd(12)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.done}/${p.total}   `;
}

export const sim: Command = {
  name: 'sim',
  summary: 'simulate a network of N nodes on virtual time (deterministic from --seed)',
  help: `Usage: kadmium sim [--nodes N] [--seed S] [--scenario NAME] [options]

Runs N real kadmium nodes in this process on a simulated internet (log-normal access
latency plus distance, loss, duplication, NAT, partitions) and virtual time, and
measures lookups. The same options and seed replay the run exactly.

  -n, --nodes N        nodes (default 2000; 100000 fits in ~10 GiB of heap)
  -s, --seed S         random seed (default 1)
      --scenario NAME  ${Object.keys(SCENARIOS).join(', ')} (default lookup)
      --lookups N      lookups to measure (default 1000)
      --build MODE     join: every node bootstraps through real lookups, then the network
                       ages 20 virtual minutes; fast: routing tables seeded from the sorted
                       id list (default: join up to 5000 nodes, fast above)
      --warm-up R      after --build fast, every node runs R ordinary bucket refreshes over
                       4 virtual minutes, so RTTs and PNS come from real samples (default 0)
      --nat F          fraction of nodes behind NAT (default 0.2)
      --symmetric F    fraction of the NATed nodes behind symmetric NAT, the rest
                       port-restricted cone (default 0; docs/NAT.md)
      --punch on|off   nat scenario: connect to found peers by hole punching (default on)
      --relay on|off   public nodes offer to relay (relay: true), used when a punch fails
                       (default off)
      --read-only F    fraction of nodes read-only (BEP 43, the privacy profile; default 0)
      --rotate F       rotate scenario: fraction of nodes that rejoin with a fresh id, read-only first (default 0.3)
      --rotate-every M minutes between a rotating node's rejoins (default 10)
      --loss F         loss rate for the loss scenario (default 0.05)
      --churn F        fraction of nodes replaced per 10 minutes (default 0.1)
      --minutes M      virtual minutes of the churn (default 10) and rotate (default 30) scenarios
      --latency LIST   latency techniques, comma-separated, or none (default: ${DEFAULT_LATENCY.join(',')});
                       from ${LATENCY_TECHNIQUES.join(', ')} (docs/LATENCY.md);
                       overlay: from ${OVERLAY_LATENCY_TECHNIQUES.join(', ')} (default ${OVERLAY_DEFAULT_LATENCY.join(',')})
      --report FILE    write a self-contained HTML report with plots
      --dht NAME       mainline (default) or overlay: the secp256k1 overlay over in-memory
                       streams; it publishes --lookups items (default 200), lets --minutes
                       pass with --churn, and reads each back from a random node
      --silent-dials   overlay: dials to departed or NATed nodes get no answer and fail at the
                       handshake timeout (5 s), as a dropped SYN does (default: refused in one
                       round trip)
      --join-contacts N  overlay: a joining node bootstraps from N random reachable nodes
                       (default 1; with one, joining through an adversary learns only colluders)
      --alpha N        mainline: queries a lookup keeps in flight (default 3, BEP 5's)
      --paths D        disjoint lookup paths (mainline: get_peers, announce and BEP 44 get /
                       put, default 1; overlay: default 3)
      --adversary KIND adversaries among the nodes, real nodes with a hostile policy:
                       ${ADVERSARY_KINDS.join(', ')} (docs/SECURITY.md; the same kinds
                       but announce-flood on --dht overlay, where targeted grinds keys near
                       one item)
      --fraction F     fraction of the nodes that are adversaries (default 0.2)
      --reputation     honest nodes keep a per-contact reputation and skip liars (both DHTs)
      --no-token-replay  honest nodes accept any number of ports per announce token (the
                       replay guard off: what an announce flood does without it)
      --secure-ids     BEP 42 enforced: ids derive from IPs, honest nodes require it
  -q, --quiet          no progress bar
      --json           print the result as JSON
  -h, --help           this help

Scenarios:
${Object.values(SCENARIOS)
  .map((s) => `  ${s.name.padEnd(10)} ${s.summary}`)
  .join('\n')}

Examples:
  kadmium sim --nodes 2000 --scenario churn --report churn.html
  kadmium sim --nodes 100000 --seed 7 --scenario lookup --build fast
  kadmium sim --nodes 2000 --scenario nat --nat 0.5 --symmetric 0.2 --punch on --relay on
  kadmium sim --dht overlay --nodes 2000 --nat 0.2 --churn 0.1 --paths 4`,
  async run(argv) {
    const { values } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false, values.quiet ?? false);
    const dht = values.dht ?? 'mainline';
    if (dht !== 'mainline' && dht !== 'overlay')
      throw new UsageError(`--dht must be mainline or overlay, got "${dht}"`);
    if (dht === 'overlay') return runOverlay(values, out);
    const nodes = parsePositiveInt(values.nodes, 2000, '--nodes', 1_000_000);
    if (nodes < 4) throw new UsageError('--nodes must be at least 4');
    const scenario = values.scenario ?? 'lookup';
    if (!SCENARIOS[scenario])
      throw new UsageError(
        `--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}, got "${scenario}"`,
      );
    const build = values.build;
    if (build !== undefined && build !== 'fast' && build !== 'join')
      throw new UsageError(`--build must be fast or join, got "${build}"`);
    const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
    if (minutes !== undefined && !(minutes > 0 && minutes <= 24 * 60))
      throw new UsageError(`--minutes must be a number of minutes 0-1440, got "${values.minutes}"`);

    const rotateEvery = values['rotate-every'] === undefined ? undefined : Number(values['rotate-every']);
    if (rotateEvery !== undefined && !(rotateEvery >= 1 && rotateEvery <= 24 * 60))
      throw new UsageError(
        `--rotate-every must be a number of minutes 1-1440, got "${values['rotate-every']}"`,
      );

    // Big runs need a bigger heap, and --expose-gc for honest memory numbers: rerun ourselves with them.
    const needHeap = nodes * HEAP_BYTES_PER_NODE + 1024 ** 3;
    const gcMissing = (globalThis as { gc?: unknown }).gc === undefined;
    if (!process.env.KADMIUM_SIM_CHILD && (gcMissing || getHeapStatistics().heap_size_limit < needHeap)) {
      const mb = Math.ceil(Math.max(needHeap, getHeapStatistics().heap_size_limit) / 1024 ** 2);
      const child = spawnSync(
        process.execPath,
        [
          `--max-old-space-size=${mb}`,
          '--expose-gc',
          ...process.execArgv,
          process.argv[1] as string,
          'sim',
          ...argv,
        ],
        { stdio: 'inherit', env: { ...process.env, KADMIUM_SIM_CHILD: '1' } },
      );
      return child.status ?? 1;
    }

    const options: SimOptions = {
      nodes,
      seed: parsePositiveInt(values.seed, 1, '--seed', 0xffffffff),
      scenario,
      lookups: values.lookups === undefined ? undefined : parsePositiveInt(values.lookups, 1000, '--lookups'),
      build: build as BuildMode | undefined,
      warmUp:
        values['warm-up'] === undefined
          ? undefined
          : parsePositiveInt(values['warm-up'], 0, '--warm-up', MAX_WARM_UP_REFRESHES),
      natFraction: fraction(values.nat, '--nat'),
      symmetricFraction: fraction(values.symmetric, '--symmetric'),
      readOnlyFraction: fraction(values['read-only'], '--read-only'),
      rotateFraction: fraction(values.rotate, '--rotate'),
      rotateEveryMs: rotateEvery === undefined ? undefined : rotateEvery * 60_000,
      lossRate: fraction(values.loss, '--loss'),
      churn: fraction(values.churn, '--churn'),
      durationMs: minutes === undefined ? undefined : minutes * 60_000,
    };
    if (values.punch !== undefined) {
      if (values.punch !== 'on' && values.punch !== 'off')
        throw new UsageError(`--punch must be on or off, got "${values.punch}"`);
      options.punch = values.punch === 'on';
    }
    if (values.relay !== undefined) {
      if (values.relay !== 'on' && values.relay !== 'off')
        throw new UsageError(`--relay must be on or off, got "${values.relay}"`);
      options.relay = values.relay === 'on';
    }
    const adversary = values.adversary;
    if (adversary !== undefined) {
      if (!(ADVERSARY_KINDS as readonly string[]).includes(adversary))
        throw new UsageError(`--adversary must be one of ${ADVERSARY_KINDS.join(', ')}, got "${adversary}"`);
      options.adversary = adversary as AdversaryKind;
    }
    const adversaryFraction = fraction(values.fraction, '--fraction');
    if (adversaryFraction !== undefined) options.adversaryFraction = adversaryFraction;
    if (values.paths !== undefined) options.lookupPaths = parsePositiveInt(values.paths, 1, '--paths', 16);
    if (values.alpha !== undefined) options.alpha = parsePositiveInt(values.alpha, 3, '--alpha', 16);
    if (values.reputation) options.reputation = true;
    if (values['no-token-replay']) options.tokenReplay = false;
    if (values['secure-ids']) options.secureIds = true;
    if (values.latency !== undefined) {
      const list = values.latency === 'none' ? [] : values.latency.split(',').filter((t) => t !== '');
      try {
        options.latency = checkTechniques(list);
      } catch (err) {
        throw new UsageError(`--latency: ${(err as Error).message}`);
      }
    }
    // Each node's lookups listen on its shutdown signal; dozens at once is normal here, not a leak.
    EventEmitter.defaultMaxListeners = 256;
    const tty = process.stderr.isTTY;
    let lastLine = '';
    if (!values.quiet)
      options.onProgress = (p) => {
        if (tty) process.stderr.write(progressBar(p));
        else if (p.phase !== lastLine && (lastLine = p.phase)) process.stderr.write(`${p.phase}...\n`);
      };
    const result = await simulate(options);
    if (tty && !values.quiet) process.stderr.write('\r\x1b[K');
    if (values.report) {
      writeFileSync(values.report, renderHtml(result));
      out.info(`report written to ${values.report}`);
    }
    if (out.json) process.stdout.write(`${JSON.stringify(result, jsonReplacer)}\n`);
    else out.line(formatSummary(result));
    return 0;
  },
};

async function runOverlay(
  values: ReturnType<typeof parse<typeof OPTIONS>>['values'],
  out: ReturnType<typeof createOutput>,
): Promise<number> {
  const nodes = parsePositiveInt(values.nodes, 1000, '--nodes', 200_000);
  if (nodes < 4) throw new UsageError('--nodes must be at least 4');
  const minutes = values.minutes === undefined ? OVERLAY_SIM_DEFAULTS.minutes : Number(values.minutes);
  if (!(minutes >= 0 && minutes <= 24 * 60))
    throw new UsageError(`--minutes must be 0-1440, got "${values.minutes}"`);
  const options: Parameters<typeof simulateOverlay>[0] = {
    nodes,
    seed: parsePositiveInt(values.seed, 1, '--seed', 0xffffffff),
    paths: parsePositiveInt(values.paths, OVERLAY_SIM_DEFAULTS.paths, '--paths', 16),
    items: parsePositiveInt(values.lookups, OVERLAY_SIM_DEFAULTS.items, '--lookups', 1_000_000),
    natFraction: fraction(values.nat, '--nat') ?? OVERLAY_SIM_DEFAULTS.natFraction,
    churn: fraction(values.churn, '--churn') ?? OVERLAY_SIM_DEFAULTS.churn,
    minutes,
    build: values.build === 'fast' ? 'fast' : 'join',
    adversaryFraction: fraction(values.fraction, '--fraction') ?? OVERLAY_SIM_DEFAULTS.adversaryFraction,
  };
  if (values['silent-dials']) options.silentDials = true;
  if (values.reputation) options.reputation = true;
  if (values['join-contacts'] !== undefined)
    options.joinContacts = parsePositiveInt(values['join-contacts'], 1, '--join-contacts', 64);
  if (values.latency !== undefined) {
    const list = values.latency === 'none' ? [] : values.latency.split(',').filter((t) => t !== '');
    const wrong = list.find((t) => !(OVERLAY_LATENCY_TECHNIQUES as readonly string[]).includes(t));
    if (wrong !== undefined)
      throw new UsageError(
        `--latency: "${wrong}" is not an overlay technique; choose from ${OVERLAY_LATENCY_TECHNIQUES.join(', ')}`,
      );
    options.latency = list;
  }
  if (values.adversary !== undefined) {
    if (!(OVERLAY_ADVERSARY_KINDS as readonly string[]).includes(values.adversary))
      throw new UsageError(
        `--adversary must be one of ${OVERLAY_ADVERSARY_KINDS.join(', ')}, got "${values.adversary}"`,
      );
    options.adversary = values.adversary as OverlayAdversaryKind;
  }
  if (values.build !== undefined && values.build !== 'fast' && values.build !== 'join')
    throw new UsageError(`--build must be fast or join, got "${values.build}"`);
  EventEmitter.defaultMaxListeners = 256;
  if (!values.quiet) {
    let last = '';
    options.onProgress = (phase, done, total) => {
      if (process.stderr.isTTY) process.stderr.write(progressBar({ phase, done, total } as SimProgress));
      else if (phase !== last && (last = phase)) process.stderr.write(`${phase}...\n`);
    };
  }
  const report = await simulateOverlay(options);
  if (process.stderr.isTTY && !values.quiet) process.stderr.write('\r\x1b[K');
  if (out.json) {
    process.stdout.write(`${JSON.stringify(report, jsonReplacer)}\n`);
    return 0;
  }
  const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
  out.line(
    [
      `overlay: ${report.options.nodes} nodes, seed ${report.options.seed}, d = ${report.options.paths} disjoint paths, ` +
        `${pct(report.options.natFraction)} behind NAT, churn ${pct(report.options.churn)} per 10 min over ${report.options.minutes} min`,
      `puts:    ${report.puts.ok}/${report.puts.total} stored (median ${report.puts.medianStored} replicas)`,
      `gets:    ${report.gets.ok}/${report.gets.total} found the latest value (${pct(report.gets.successRate)})` +
        (report.gets.lies > 0 ? `; ${report.gets.lies} forged or misplaced items refused` : '') +
        (report.gets.byJoiners.total > 0
          ? `; read by nodes that joined during churn: ${report.gets.byJoiners.ok}/${report.gets.byJoiners.total}`
          : ''),
      `lookups: ${report.lookups.count}; median ${report.lookups.medianHops} hops, ${report.lookups.medianMessages} messages, ` +
        `${report.lookups.medianMs.toFixed(0)} ms (p95 ${report.lookups.p95Ms.toFixed(0)} ms); ` +
        `${report.lookups.meanFailed.toFixed(2)} failed and ${report.lookups.meanUnanswered.toFixed(2)} slow queries a get; ` +
        `first item ${report.lookups.firstItemMedianMs.toFixed(0)} ms (p95 ${report.lookups.firstItemP95Ms.toFixed(0)} ms)`,
      `churn:   ${report.departed} left, ${report.joined} joined in all; ${report.connections} connections opened`,
      ...(report.adversaries
        ? [
            `attack:  ${report.adversaries.count} ${report.adversaries.kind} adversaries` +
              (report.adversaries.distrusted !== undefined
                ? `; ${report.adversaries.distrusted} contacts distrusted by honest nodes`
                : '') +
              (report.adversaries.grindBits > 0
                ? `; ids ground to ${report.adversaries.grindBits} bits of the victim: ${report.adversaries.grindTries} keys in ${(report.adversaries.grindMs / 1000).toFixed(1)} s`
                : ''),
          ]
        : []),
      `wall:    ${(report.wallMs / 1000).toFixed(1)} s`,
      `replay:  kadmium sim --dht overlay --nodes ${report.options.nodes} --seed ${report.options.seed} --paths ${report.options.paths} ` +
        `--lookups ${report.options.items} --nat ${report.options.natFraction} --churn ${report.options.churn} --minutes ${report.options.minutes} --build ${report.options.build}` +
        (report.options.latency !== undefined
          ? ` --latency ${report.options.latency.length > 0 ? report.options.latency.join(',') : 'none'}`
          : '') +
        (report.options.silentDials ? ' --silent-dials' : '') +
        (report.options.reputation ? ' --reputation' : '') +
        (report.options.joinContacts !== undefined ? ` --join-contacts ${report.options.joinContacts}` : '') +
        (report.options.adversary
          ? ` --adversary ${report.options.adversary} --fraction ${report.options.adversaryFraction}`
          : ''),
    ].join('\n'),
  );
  return 0;
}
