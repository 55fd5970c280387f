/**
 * A self-contained HTML report (inline SVG, no scripts, no network): latency and hop
 * distributions, and lookup success per virtual minute.
 */
import type { SimResult } from './runner.js';
import { formatSummary } from './report-text.js';
import { histogram, quantile } from './stats.js';

const W = 640;
const H = 240;
const PAD = 40;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Vertical bars with labels under each (at most ~30 bars). */
export function barChart(title: string, labels: string[], values: number[], unit: string): string {
  const max = Math.max(1, ...values);
  const bw = (W - 2 * PAD) / Math.max(1, values.length);
  const bars = values
    .map((v, i) => {
      const h = ((H - 2 * PAD) * v) / max;
      const x = PAD + i * bw;
      const y = H - PAD - h;
      const label = labels[i] ?? '';
      return (
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw * 0.85).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7fb5"><title>${esc(label)}: ${v}</title></rect>` +
        (values.length <= 16 || i % Math.ceil(values.length / 16) === 0
          ? `<text x="${(x + bw / 2).toFixed(1)}" y="${H - PAD + 14}" font-size="10" text-anchor="middle">${esc(label)}</text>`
          : '')
      );
    })
    .join('');
  return svg(title, `${bars}${axes(max, unit)}`);
}

/** A line of points (x: index labels, y: 0..1). */
export function lineChart(title: string, labels: string[], values: number[], yMin: number): string {
  const span = Math.max(1e-9, 1 - yMin);
  const step = (W - 2 * PAD) / Math.max(1, values.length - 1);
  const pts = values.map((v, i) => {
    const x = PAD + i * step;
    const y = H - PAD - ((H - 2 * PAD) * (Math.max(yMin, v) - yMin)) / span;
    return [x, y] as const;
  });
  const path = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const dots = pts
    .map(
      ([x, y], i) =>
        `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="#b5464a"><title>${esc(labels[i] ?? '')}: ${((values[i] ?? 0) * 100).toFixed(2)}%</title></circle>` +
        `<text x="${x.toFixed(1)}" y="${H - PAD + 14}" font-size="10" text-anchor="middle">${esc(labels[i] ?? '')}</text>`,
    )
    .join('');
  const axis =
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#333"/>` +
    `<text x="4" y="${PAD}" font-size="10">100%</text><text x="4" y="${H - PAD}" font-size="10">${(yMin * 100).toFixed(0)}%</text>`;
  return svg(title, `<path d="${path}" fill="none" stroke="#b5464a" stroke-width="2"/>${dots}${axis}`);
}

function axes(max: number, unit: string): string {
  return (
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#333"/>` +
    `<text x="4" y="${PAD}" font-size="10">${max}</text><text x="4" y="${H - PAD}" font-size="10">0</text>` +
    `<text x="${W - PAD}" y="${H - 6}" font-size="10" text-anchor="end">${esc(unit)}</text>`
  );
}

function svg(title: string, body: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${body}</svg></figure>`;
}

export function renderHtml(r: SimResult): string {
  const kinds = new Set<string>(r.phases.map((p) => p.lookupKind));
  const lookups = r.samples.filter((s) => kinds.has(s.kind));
  // Latency: 25 bins up to the p99 (the tail beyond lands in the last bin).
  const lat = lookups.map((s) => s.latencyMs).sort((a, b) => a - b);
  const top = Math.max(1, quantile(lat, 0.99));
  const bins = 25;
  const binMs = Math.ceil(top / bins / 10) * 10 || 10;
  const latCounts = histogram(
    lat.map((v) => v / binMs),
    bins,
  );
  const latLabels = latCounts.map((_, i) => `${i * binMs}`);
  const maxHops = Math.max(1, ...lookups.map((s) => s.hops));
  const hopCounts = histogram(
    lookups.map((s) => s.hops),
    maxHops,
  );
  const charts = [
    barChart('Lookup latency (virtual ms; last bar includes the tail)', latLabels, latCounts, 'ms'),
    barChart(
      'Lookup hops',
      hopCounts.map((_, i) => String(i)),
      hopCounts,
      'hops',
    ),
    lineChart(
      'Lookup success per virtual minute',
      r.timeline.map((t) => `${t.minute}`),
      r.timeline.map((t) => t.ok / Math.max(1, t.count)),
      Math.min(0.9, ...r.timeline.map((t) => Math.floor((t.ok / Math.max(1, t.count)) * 10) / 10)),
    ),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kadmium sim: ${esc(r.scenario)}, ${r.nodes} nodes, seed ${r.seed}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}pre{background:#f4f4f4;padding:1em;overflow:auto}figure{margin:1.5em 0}figcaption{font-weight:600}</style>
</head><body>
<h1>kadmium simulation: ${esc(r.scenario)}</h1>
<pre>${esc(formatSummary(r))}</pre>
${charts.join('\n')}
</body></html>
`;
}
