/** A strict parser of the Prometheus text format, for tests: every line must be a comment or a sample. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedMetrics {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: ParsedSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;

export function parseMetrics(text: string): ParsedMetrics {
  const out: ParsedMetrics = { types: new Map(), help: new Map(), samples: [] };
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      out.help.set(name as string, rest.join(' '));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? ''))
        throw new Error(`bad TYPE line: ${line}`);
      out.types.set(name as string, type as string);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    LABEL.lastIndex = 0;
    let consumed = 0;
    for (let lm = LABEL.exec(body); lm; lm = LABEL.exec(body)) {
      labels[lm[1] as string] = (lm[2] as string).replace(/\\(.)/g, (_s, c: string) =>
        c === 'n' ? '\n' : c,
      );
      consumed = LABEL.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const raw = m[4] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value in ${JSON.stringify(line)}`);
    const name = m[1] as string;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!out.types.has(name) && !out.types.has(family)) throw new Error(`sample before its TYPE: ${line}`);
    out.samples.push({ name, labels, value });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `match`. */
export function total(parsed: ParsedMetrics, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of parsed.samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}
