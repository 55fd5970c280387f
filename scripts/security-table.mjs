#!/usr/bin/env node
/**
 * The attack table of docs/SECURITY.md: every adversary kind at each fraction, with d disjoint
 * paths and reputation on / off, for get_peers (scenario lookup) and BEP 44 get (scenario items).
 * One simulation at a time, in this process; prints one JSON line per run (with its replay
 * command) to stdout as it finishes, so a long run can be watched and cut short.
 *
 *   nice -n 10 node scripts/security-table.mjs --nodes 2000 --lookups 200 > table.jsonl
 *   node scripts/security-table.mjs --markdown table.jsonl     # the tables, from the JSON lines
 *   node scripts/security-table.mjs --grid table.jsonl         # one row per op, kind and fraction;
 *                                                               # a column per d and reputation
 *
 * Options: --kinds eclipse,fake  --fractions 0.1,0.2  --paths 1,4,8  --scenarios lookup,items
 *          --reputation off,on  --targeted (the targeted-eclipse table instead).
 *
 * --dht overlay: the overlay's get under the same kinds (`kadmium sim --dht overlay`; --reputation
 * off,on as on Mainline, default off only; --lookups is the number of items; --targeted takes --counts 8,16,32,64;
 * --churn 0.1 --minutes 10 replaces a tenth of the nodes between the puts and the gets;
 * --kinds none --fractions 0 is the attack-free baseline).
 */
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import { simulate } from '../dist/src/sim/simulate.js';
import { simulateOverlay } from '../dist/src/sim/overlay-sim.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2000' },
    lookups: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    kinds: { type: 'string', default: 'eclipse,fake,storage,sybil' },
    fractions: { type: 'string', default: '0.1,0.2,0.3' },
    paths: { type: 'string', default: '1,4,8' },
    reputation: { type: 'string', default: 'off,on' },
    scenarios: { type: 'string', default: 'lookup,items' },
    targeted: { type: 'boolean', default: false },
    dht: { type: 'string', default: 'mainline' },
    counts: { type: 'string', default: '8,16,32,64' },
    minutes: { type: 'string', default: '1' },
    churn: { type: 'string', default: '0' },
    markdown: { type: 'string' },
    grid: { type: 'string' },
  },
});

const list = (s) => s.split(',').filter((x) => x.length > 0);

if (values.markdown) {
  const rows = readFileSync(values.markdown, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  console.log(
    '| op | adversary | fraction | d | reputation | BEP 42 | success | messages / lookup | replay |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.op} | ${r.kind} | ${pct(r.fraction)} | ${r.paths} | ${r.reputation ? 'on' : 'off'} | ${r.secureIds ? 'on' : 'off'} | ` +
        `${pct(r.success)} | ${r.queries.toFixed(1)} | \`${r.replay}\` |`,
    );
  process.exit(0);
}

if (values.grid) {
  const rows = readFileSync(values.grid, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));
  const key = (r) => `${r.op}|${r.kind}|${r.fraction}|${r.paths}|${r.reputation}`;
  const byKey = new Map(rows.map((r) => [key(r), r]));
  const uniq = (xs) => [...new Set(xs)];
  const columns = uniq(rows.map((r) => r.paths))
    .sort((a, b) => a - b)
    .flatMap((paths) =>
      uniq(rows.map((r) => r.reputation))
        .sort()
        .map((reputation) => ({ paths, reputation })),
    );
  console.log(
    `| op | adversary | fraction | ${columns.map((c) => `d = ${c.paths}, reputation ${c.reputation ? 'on' : 'off'}`).join(' | ')} |`,
  );
  console.log(`|---|---|---|${columns.map(() => '---|').join('')}`);
  for (const op of uniq(rows.map((r) => r.op)))
    for (const kind of uniq(rows.map((r) => r.kind)).sort())
      for (const fraction of uniq(rows.map((r) => r.fraction)).sort((a, b) => a - b)) {
        const cells = columns.map((c) => byKey.get(key({ op, kind, fraction, ...c })));
        if (cells.every((r) => r === undefined)) continue;
        const text = cells.map((r) =>
          r ? `${(100 * r.success).toFixed(0)} % / ${r.queries.toFixed(0)}` : '-',
        );
        console.log(`| ${op} | ${kind} | ${(100 * fraction).toFixed(0)} % | ${text.join(' | ')} |`);
      }
  process.exit(0);
}

EventEmitter.defaultMaxListeners = 256;
const nodes = Number(values.nodes);
if (values.dht === 'overlay') {
  // Earlier overlay tables had no reputation: without the flag, the runs stay what they were.
  const overlayReputation = process.argv.includes('--reputation') ? list(values.reputation) : ['off'];
  const runs = [];
  if (values.targeted) {
    for (const count of list(values.counts).map(Number))
      for (const paths of list(values.paths).map(Number))
        for (const rep of overlayReputation)
          runs.push({ kind: 'targeted', fraction: count / nodes, paths, reputation: rep === 'on' });
  } else {
    for (const kind of list(values.kinds))
      for (const fraction of list(values.fractions).map(Number))
        for (const paths of list(values.paths).map(Number))
          for (const rep of overlayReputation) runs.push({ kind, fraction, paths, reputation: rep === 'on' });
  }
  for (const run of runs) {
    const options = {
      nodes,
      seed: Number(values.seed),
      paths: run.paths,
      items: Number(values.lookups),
      natFraction: 0.2,
      churn: Number(values.churn),
      minutes: Number(values.minutes),
      build: 'fast',
      reputation: run.reputation,
      // kind none: the attack-free baseline the cost in messages is read against.
      ...(run.kind === 'none' ? {} : { adversary: run.kind, adversaryFraction: run.fraction }),
    };
    const r = await simulateOverlay(options);
    console.log(
      JSON.stringify({
        op: 'overlay get',
        kind: run.kind,
        fraction: run.fraction,
        adversaries: r.adversaries?.count,
        paths: run.paths,
        reputation: run.reputation,
        secureIds: false,
        nodes,
        success: r.gets.successRate,
        queries: r.lookups.meanMessages,
        lies: r.gets.lies,
        distrusted: r.adversaries?.distrusted,
        latencyMedianMs: r.lookups.medianMs,
        grind: r.adversaries?.grindBits
          ? { bits: r.adversaries.grindBits, tries: r.adversaries.grindTries, ms: r.adversaries.grindMs }
          : undefined,
        wallMs: r.wallMs,
        replay:
          `kadmium sim --dht overlay --nodes ${nodes} --seed ${options.seed} --paths ${run.paths} --lookups ${options.items} ` +
          `--nat 0.2 --churn ${options.churn} --minutes ${options.minutes} --build fast` +
          (run.reputation ? ' --reputation' : '') +
          (run.kind === 'none' ? '' : ` --adversary ${run.kind} --fraction ${run.fraction}`),
      }),
    );
  }
  process.exit(0);
}
const runs = [];
if (values.targeted) {
  // An absolute number of attackers around one item, BEP 42 off and on.
  for (const scenario of list(values.scenarios))
    for (const count of [4, 8, 16, 64])
      for (const secureIds of [false, true])
        for (const paths of list(values.paths).map(Number))
          runs.push({
            scenario,
            kind: 'targeted',
            fraction: count / nodes,
            paths,
            reputation: true,
            secureIds,
          });
} else {
  for (const scenario of list(values.scenarios))
    for (const kind of list(values.kinds))
      for (const fraction of list(values.fractions).map(Number))
        for (const paths of list(values.paths).map(Number))
          for (const rep of list(values.reputation))
            runs.push({ scenario, kind, fraction, paths, reputation: rep === 'on', secureIds: false });
}
for (const run of runs) {
  const result = await simulate({
    nodes,
    seed: Number(values.seed),
    scenario: run.scenario,
    lookups: Number(values.lookups),
    build: 'fast',
    adversary: run.kind,
    adversaryFraction: run.fraction,
    lookupPaths: run.paths,
    reputation: run.reputation,
    secureIds: run.secureIds,
  });
  const phase = result.phases[0];
  console.log(
    JSON.stringify({
      op: phase.lookupKind,
      kind: run.kind,
      fraction: run.fraction,
      adversaries: result.adversaries?.count,
      paths: run.paths,
      reputation: run.reputation,
      secureIds: run.secureIds,
      nodes,
      success: phase.lookups.successRate,
      queries: phase.lookups.queries.mean,
      datagramsPerLookup: phase.datagramsPerLookup,
      latencyMedianMs: phase.lookups.latencyMs.median,
      distrusted: result.adversaries?.distrusted,
      wallMs: Math.round(result.perf.wallMs),
      replay: result.replay,
    }),
  );
}
