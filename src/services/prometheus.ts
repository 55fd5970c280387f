/**
 * The Prometheus text exposition format (version 0.0.4), written by hand: `# HELP` and `# TYPE`
 * lines per family, then one line per sample with escaped label values.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export type Labels = Readonly<Record<string, string | number>>;

export interface Sample {
  labels?: Labels;
  value: number;
  /** Suffix added to the family name (histograms: _bucket, _sum, _count). */
  suffix?: string;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function render(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples)
      lines.push(`${f.name}${s.suffix ?? ''}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => {
    if (!LABEL.test(k)) throw new Error(`invalid label name ${JSON.stringify(k)}`);
    return `${k}="${escapeLabelValue(String(v))}"`;
  });
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/**
 * Control characters other than newline, and UTF-16 halves without their pair: the text format
 * escapes only backslash, double quote and newline, so these have no faithful spelling in a label
 * value. A raw CR or NUL breaks line-based scrapers, and a lone surrogate is not UTF-8 at all.
 */
const UNCARRIABLE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A label value as the text format carries it: backslash, double quote and newline escaped, and
 * every character it cannot carry replaced by U+FFFD (so the value stays visibly altered rather
 * than silently shortened).
 */
export function escapeLabelValue(value: string): string {
  return value
    .replace(UNCARRIABLE, '\ufffd')
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/"/g, '\\"');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Histogram samples from per-bucket (non-cumulative) counts. */
export function histogramSamples(
  bounds: readonly number[],
  counts: readonly number[],
  sum: number,
  count: number,
  labels: Labels = {},
): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i <= bounds.length; i++) {
    cumulative += counts[i] ?? 0;
    const le = i < bounds.length ? formatValue(bounds[i] as number) : '+Inf';
    out.push({ suffix: '_bucket', labels: { ...labels, le }, value: cumulative });
  }
  out.push({ suffix: '_sum', labels, value: sum });
  out.push({ suffix: '_count', labels, value: count });
  return out;
}
