#!/usr/bin/env node
/**
 * Anomaly detection rates (docs/SECURITY.md): for each adversary kind, the daemons whose detector
 * flagged the attack after the adversaries turned hostile (detection), and the same daemons'
 * flags in an attack-free run (false positives). One simulation at a time; one JSON line each.
 *
 *   nice -n 10 node scripts/anomaly-rates.mjs --nodes 1000 > anomaly.jsonl
 *   node scripts/anomaly-rates.mjs --markdown anomaly.jsonl
 *
 * Options: --kinds none,eclipse,fake  --fractions 0.2  --seeds 1,2  --daemons 20  --tick 10
 *          (seconds)  --before 10 --after 10 (virtual minutes)  --every 2 (seconds between a
 *          daemon's lookups)  --reputation  --join turn (adversaries join at the turn, not
 *          before it)  --warmup T (detector warm-up, ticks; default the daemon's 30)
 *          --reply-share S (the subnet-replies threshold, 0-1; default the daemon's)
 *          --share-sweep FILE (from the runs' windowed top-/24 reply shares: the daemons the
 *          subnet-replies rule alone would flag at each threshold, attack runs and attack-free).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { simulateAnomalies } from '../dist/src/cli/anomaly-sim.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    seeds: { type: 'string', default: '1' },
    kinds: { type: 'string', default: 'none,eclipse,fake,storage,sybil' },
    fractions: { type: 'string', default: '0.2' },
    daemons: { type: 'string', default: '20' },
    tick: { type: 'string', default: '10' },
    before: { type: 'string', default: '10' },
    after: { type: 'string', default: '10' },
    every: { type: 'string', default: '2' },
    reputation: { type: 'boolean', default: false },
    join: { type: 'string', default: 'start' },
    warmup: { type: 'string' },
    markdown: { type: 'string' },
    summary: { type: 'string' },
    'reply-share': { type: 'string' },
    'share-sweep': { type: 'string' },
    thresholds: { type: 'string', default: '0.08,0.1,0.12,0.14,0.16,0.18,0.2' },
  },
});

const pct = (x) => `${(100 * x).toFixed(1)} %`;

// One line per attack and fraction: detection over its runs beside the false positives of the
// attack-free runs (kind none) with the same settings. A daemon counts as flagged when any rule
// fired on it after the turn; a run counts when at least half its daemons were.
if (values.summary) {
  const rows = readFileSync(values.summary, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.adversary} ${r.fraction} ${r.join ?? 'start'}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const rate = (rs) => {
    const daemons = rs.reduce((a, r) => a + r.daemons, 0);
    const flagged = rs.reduce((a, r) => a + r.flaggedAfter, 0);
    const runs = rs.filter((r) => r.flaggedAfter * 2 >= r.daemons).length;
    const before = rs.reduce((a, r) => a + r.flaggedBefore, 0);
    return { daemons, flagged, runs, n: rs.length, before };
  };
  const free = [...groups.entries()].filter(([k]) => k.startsWith('none ')).flatMap(([, rs]) => rs);
  const fp = rate(free);
  const seedList = (rs) => rs.map((r) => r.seed).join(',');
  console.log(
    '| attack | fraction | runs (seeds) | detection: daemons flagged after the turn | runs with half the daemons flagged | rules that fired (daemon ticks) | median delay | false positives: daemons flagged after the turn, attack-free | attack-free runs flagged | daemons flagged before the turn: attack runs; attack-free | replay (attack runs; the attack-free runs: --kinds none) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [key, rs] of groups) {
    if (key.startsWith('none ')) continue;
    const r0 = rs[0];
    const d = rate(rs);
    const rules = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.byRule)) rules[k] = (rules[k] ?? 0) + v;
    const delays = rs
      .map((r) => r.medianDelayMs)
      .filter((x) => x !== null)
      .sort((a, b) => a - b);
    const delay = delays.length ? `${Math.round(delays[Math.floor(delays.length / 2)] / 1000)} s` : '-';
    const replay = r0.replay.replace(/--seeds \S+/, `--seeds ${seedList(rs)}`);
    const name = r0.join === 'turn' ? `${r0.adversary} (joins at the turn)` : r0.adversary;
    console.log(
      `| ${name} | ${pct(r0.fraction)} | ${d.n} (${seedList(rs)}) | ${d.flagged}/${d.daemons} (${pct(d.flagged / d.daemons)}) | ${d.runs}/${d.n} | ${
        Object.entries(rules)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '-'
      } | ${delay} | ${fp.flagged}/${fp.daemons} (${fp.daemons ? pct(fp.flagged / fp.daemons) : '-'}) | ${fp.runs}/${fp.n} (seeds ${seedList(free)}) | ${d.before}/${d.daemons}; ${fp.before}/${fp.daemons} | \`${replay}\` |`,
    );
  }
  process.exit(0);
}

// The subnet-replies rule compares one number with its threshold: the top /24's share of a
// daemon's replies over the 30 s window. Each run records its maximum per daemon before and after
// the turn, so any threshold's detection (attack runs, after the turn) and false positives
// (attack-free runs, before or after the turn: all of it is attack-free) follow from the same runs.
if (values['share-sweep']) {
  const rows = readFileSync(values['share-sweep'], 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.windowReplyShare);
  const groups = new Map();
  for (const r of rows) {
    const key = r.adversary === 'none' ? 'attack-free' : `${r.adversary} ${pct(r.fraction)} (join ${r.join})`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const thresholds = values.thresholds.split(',').map(Number);
  console.log(
    `| runs | seeds | max windowed top-/24 share (daemon median; max) | ${thresholds.map((t) => `>= ${pct(t)}`).join(' | ')} |`,
  );
  console.log(`|---|---|---|${thresholds.map(() => '---').join('|')}|`);
  for (const [key, rs] of groups) {
    const free = key === 'attack-free';
    const peaks = rs.flatMap((r) =>
      r.windowReplyShare.after.map((a, i) => (free ? Math.max(a, r.windowReplyShare.before[i]) : a)),
    );
    const row = (label, xs) => {
      const ys = [...xs].sort((a, b) => a - b);
      const cells = thresholds.map((t) => `${xs.filter((p) => p >= t).length}/${xs.length}`);
      console.log(
        `| ${label} | ${rs.map((r) => r.seed).join(',')} | ${pct(ys[Math.floor(ys.length / 2)])}; ${pct(ys[ys.length - 1])} | ${cells.join(' | ')} |`,
      );
    };
    row(`${key}${free ? ' (whole run)' : ' (after the turn)'}`, peaks);
    // An attack run's before-phase is honest traffic too (with its own workload: a targeted run's
    // daemons look up the victim target one lookup in four).
    if (!free)
      row(
        `${key} (before the turn: every node honest)`,
        rs.flatMap((r) => r.windowReplyShare.before),
      );
  }
  // The targeted-eclipse candidate: bits by which the victim target's 8th closest contact is
  // closer than the daemon's usual level (attack-free runs: the same target, and the honest
  // spread over random targets). Runs from before the probe existed are left out.
  const probed = rows.filter((r) => r.targetDensity);
  if (probed.length > 0) {
    const bits = [1, 2, 3, 4, 5];
    console.log('');
    console.log(
      `| runs | seeds | what | median; max bits denser | ${bits.map((b) => `>= ${b} bits`).join(' | ')} |`,
    );
    console.log(`|---|---|---|---|${bits.map(() => '---').join('|')}|`);
    const byKind = new Map();
    for (const r of probed) {
      const key = r.adversary === 'none' ? 'attack-free' : `${r.adversary} ${pct(r.fraction)}`;
      if (!byKind.has(key)) byKind.set(key, []);
      byKind.get(key).push(r);
    }
    for (const [key, rs] of byKind) {
      const lines = [['victim target', rs.flatMap((r) => r.targetDensity.victim)]];
      if (key === 'attack-free')
        lines.push(['most of 8 random targets', rs.flatMap((r) => r.targetDensity.random)]);
      for (const [what, xs] of lines) {
        const sorted = [...xs].sort((a, b) => a - b);
        console.log(
          `| ${key} | ${rs.map((r) => r.seed).join(',')} | ${what} | ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}; ${sorted[sorted.length - 1].toFixed(2)} | ${bits.map((b) => `${xs.filter((x) => x >= b).length}/${xs.length}`).join(' | ')} |`,
        );
      }
    }
  }
  process.exit(0);
}

if (values.markdown) {
  const rows = readFileSync(values.markdown, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  console.log(
    '| adversary | fraction | seed | daemons flagged after the turn | before the turn | daemon ticks flagged after / before | median delay | rules (ticks) | top /24 share of replies, mean (max) before / after | replay |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const rules =
      Object.entries(r.byRule)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '-';
    const delay = r.medianDelayMs === null ? '-' : `${Math.round(r.medianDelayMs / 1000)} s`;
    // Rows from before the field existed print '-'.
    const t = r.topReplyShare;
    const share = t
      ? `${pct(t.before.mean)} (${pct(t.before.max)}) / ${pct(t.after.mean)} (${pct(t.after.max)})`
      : '-';
    console.log(
      `| ${r.adversary} | ${pct(r.fraction)} | ${r.seed} | ${r.flaggedAfter}/${r.daemons} | ${r.flaggedBefore}/${r.daemons} | ${pct(r.tickRateAfter)} / ${pct(r.tickRateBefore)} | ${delay} | ${rules} | ${share} | \`${r.replay}\` |`,
    );
  }
  process.exit(0);
}

const list = (s) => s.split(',').filter(Boolean);
for (const seed of list(values.seeds).map(Number)) {
  for (const kind of list(values.kinds)) {
    for (const fraction of kind === 'none' ? [0] : list(values.fractions).map(Number)) {
      const opts = {
        nodes: Number(values.nodes),
        seed,
        ...(kind === 'none' ? {} : { adversary: kind, fraction }),
        daemons: Number(values.daemons),
        tickMs: Number(values.tick) * 1000,
        beforeMs: Number(values.before) * 60_000,
        afterMs: Number(values.after) * 60_000,
        lookupEveryMs: Number(values.every) * 1000,
        ...(values.reputation ? { reputation: true } : {}),
        join: values.join === 'turn' ? 'turn' : 'start',
        detector: {
          ...(values.warmup ? { warmupTicks: Number(values.warmup) } : {}),
          ...(values['reply-share'] ? { replyShare: Number(values['reply-share']) } : {}),
        },
      };
      const r = await simulateAnomalies(opts);
      const replay =
        `node scripts/anomaly-rates.mjs --nodes ${values.nodes} --seeds ${seed} --kinds ${kind}` +
        (kind === 'none' ? '' : ` --fractions ${fraction}`) +
        ` --daemons ${values.daemons} --tick ${values.tick} --before ${values.before} --after ${values.after} --every ${values.every}` +
        (values.reputation ? ' --reputation' : '') +
        (values.warmup ? ` --warmup ${values.warmup}` : '') +
        (values['reply-share'] ? ` --reply-share ${values['reply-share']}` : '') +
        (values.join === 'turn' && kind !== 'none' ? ' --join turn' : '');
      console.log(JSON.stringify({ ...r, replay }));
    }
  }
}
