/** The plain-text summary table `kadmium sim` prints. */
import type { OpStats, SimResult } from './runner.js';

function pct(x: number): string {
  return Number.isNaN(x) ? '-' : `${(x * 100).toFixed(2)}%`;
}

function ms(x: number): string {
  return Number.isNaN(x) ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`;
}

function row(name: string, kind: string, s: OpStats, datagrams?: number): string[] {
  return [
    name,
    kind,
    String(s.count),
    pct(s.successRate),
    s.hops.mean.toFixed(2),
    s.queries.mean.toFixed(1),
    Number.isNaN(s.timeouts.mean) ? '-' : s.timeouts.mean.toFixed(2),
    datagrams === undefined ? '' : datagrams.toFixed(1),
    ms(s.latencyMs.median),
    ms(s.latencyMs.p95),
    ms(s.latencyMs.p99),
    ms(s.firstMs.median),
    ms(s.firstMs.p99),
  ];
}

export function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

export function formatSummary(r: SimResult): string {
  const rows = [
    [
      'phase',
      'op',
      'count',
      'success',
      'hops',
      'queries',
      'timeouts',
      'dgrams/lookup',
      'median',
      'p95',
      'p99',
      'first med',
      'first p99',
    ],
  ];
  const hits: string[] = [];
  for (const p of r.phases) {
    rows.push(row(p.name, p.lookupKind, p.lookups, p.datagramsPerLookup));
    if (!Number.isNaN(p.lookups.hitRate)) hits.push(`${p.name}: ${pct(p.lookups.hitRate)}`);
    for (const o of p.others ?? []) rows.push(row('', o.kind, o.stats));
    if (p.stores) rows.push(row('', p.storeKind ?? 'store', p.stores));
  }
  const mib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
  const lines = [
    `scenario ${r.scenario}: ${r.nodes} nodes, seed ${r.seed}, build ${r.build.mode}` +
      (r.build.mode === 'join' ? ` (${r.build.joined} joined, ${r.build.joinFailed} failed)` : '') +
      (r.build.warmUp
        ? `, warm-up ${r.build.warmUp.lookups} refreshes, ${r.build.warmUp.datagrams} datagrams, ${(r.build.warmUp.virtualMs / 1000).toFixed(0)} virtual s`
        : ''),
    '',
    table(rows),
    '',
    `overall: ${r.overall.count} lookups, ${pct(r.overall.successRate)} successful, ` +
      `virtual latency median ${ms(r.overall.latencyMs.median)} / p95 ${ms(r.overall.latencyMs.p95)} / p99 ${ms(r.overall.latencyMs.p99)}, ` +
      `first result median ${ms(r.overall.firstMs.median)} / p95 ${ms(r.overall.firstMs.p95)} / p99 ${ms(r.overall.firstMs.p99)}`,
    `network: ${r.network.sent} datagrams sent, ${r.network.lost} lost, ${r.network.duplicated} duplicated, ` +
      `${r.network.partitioned} partitioned, ${r.network.natDropped} dropped by NAT, ${r.network.unreachable} to departed nodes`,
  ];
  for (const p of r.phases) {
    const kinds = Object.entries(p.datagramsByKind ?? {});
    const per = p.lookups.count > 0 ? p.lookups.count : 1;
    if (kinds.length > 0)
      lines.push(
        `${p.name} datagrams per lookup by kind: ` +
          kinds.map(([k, n]) => `${k} ${(n / per).toFixed(1)}`).join(', '),
      );
  }
  if (r.connect) {
    const t = Object.entries(r.connect.techniques)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const pairs = Object.entries(r.connect.pairs)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, p]) => `${k} ${p.ok}/${p.count}`)
      .join(', ');
    lines.push(`connects by technique: ${t}`, `connects by getter>announcer NAT: ${pairs}`);
  }
  if (r.failureModel)
    lines.push(
      `failure model: ${r.failureModel.outcomes} outcomes (${pct(r.failureModel.failures / r.failureModel.outcomes)} failed), ` +
        `log loss ${r.failureModel.logLoss.toFixed(3)} against ${r.failureModel.baseLogLoss.toFixed(3)} for the running failure rate`,
    );
  if (hits.length > 0)
    lines.push(`path-cache hits (item first from outside its K closest): ${hits.join(', ')}`);
  if (r.churn)
    lines.push(
      `churn: ${r.churn.leaves} left, ${r.churn.joins} joined (${r.churn.joinsOk} bootstrapped), mean session ${r.churn.meanSessionMin.toFixed(0)} min`,
    );
  if (r.rotation?.rotations === 0) lines.push('rotation: no node rotated');
  else if (r.rotation) {
    const o = r.rotation;
    lines.push(
      `rotation: ${o.rotating} nodes (${o.readOnly} read-only) every ${o.everyMin} min: ${o.rotations} rejoins, ` +
        `${o.rejoinsOk} ok, ${o.rejoinsFailed} failed; per rejoin ${o.datagramsPerRejoin.mean.toFixed(1)} datagrams sent ` +
        `(median ${o.datagramsPerRejoin.median}, p95 ${o.datagramsPerRejoin.p95}), ` +
        `join time median ${ms(o.rejoinMs.median)} / p95 ${ms(o.rejoinMs.p95)}`,
    );
  }
  lines.push(
    `time: ${(r.virtualMs / 60_000).toFixed(1)} virtual min in ${(r.perf.wallMs / 1000).toFixed(1)} s wall ` +
      `(build ${(r.perf.buildWallMs / 1000).toFixed(1)} s); memory per node: heap ${mib(r.perf.heapBytesPerNode)}, RSS ${mib(r.perf.rssBytesPerNode)}`,
    ...(r.adversaries
      ? [
          `adversaries: ${r.adversaries.count} ${r.adversaries.kind} (${(100 * r.adversaries.fraction).toFixed(1)} %); ` +
            `contacts distrusted by honest nodes: ${r.adversaries.distrusted}`,
        ]
      : []),
    `replay: ${r.replay}`,
  );
  return lines.join('\n');
}
