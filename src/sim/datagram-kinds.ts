/**
 * What the simulated network carries, by kind: queries by method, replies and errors, and
 * datagrams that are not KRPC. Read from the bytes without decoding them (the network counts every
 * datagram of a 100,000-node run): kadmium's encoder writes a dict's keys in order, so `y` is the
 * last key, and a query's `q` (after its `a` dict) is followed by the next key or the end.
 */
import { KNOWN_METHODS as METHODS, type KnownMethod } from '../rpc/stats.js';

/** Queries are counted by method as the RPC's statistics count them; any other as `q:other`. */
export type DatagramKind = `q:${KnownMethod | 'other'}` | 'r' | 'e' | 'other';

/** Every kind, in report order (a fixed set: the counts keep no key a sender makes up). */
export const DATAGRAM_KINDS: readonly DatagramKind[] = [
  ...METHODS.map((m) => `q:${m}` as const),
  'q:other',
  'r',
  'e',
  'other',
];

/** `1:q<n>:<method>` for each method: the bytes that name a query's method. */
const NEEDLES = METHODS.map((m) => ({
  kind: `q:${m}` as DatagramKind,
  bytes: new TextEncoder().encode(`1:q${m.length}:${m}`),
}));

const ONE = 0x31;
const COLON = 0x3a;
const Y = 0x79;
const E = 0x65;

export function datagramKind(data: Uint8Array): DatagramKind {
  const n = data.length;
  // ...1:y1:Xe
  if (
    n < 8 ||
    data[n - 1] !== E ||
    data[n - 3] !== COLON ||
    data[n - 4] !== ONE ||
    data[n - 5] !== Y ||
    data[n - 6] !== COLON ||
    data[n - 7] !== ONE
  )
    return 'other';
  const y = data[n - 2];
  if (y === 0x72) return 'r';
  if (y === E) return 'e';
  if (y !== 0x71) return 'other';
  for (const needle of NEEDLES) if (contains(data, needle.bytes)) return needle.kind;
  return 'q:other';
}

/** Whether `needle` occurs in `data` followed by a key's length digit or the dict's end. */
function contains(data: Uint8Array, needle: Uint8Array): boolean {
  // The method sits near the end (after the `a` dict): search backwards.
  const first = needle[0] as number;
  for (let i = data.length - needle.length - 1; i >= 0; i--) {
    if (data[i] !== first) continue;
    let j = 1;
    while (j < needle.length && data[i + j] === needle[j]) j++;
    if (j < needle.length) continue;
    const next = data[i + j] as number;
    if (next === E || (next >= 0x30 && next <= 0x39)) return true;
  }
  return false;
}

/** Counts per kind; `minus` gives the counts of a span between two snapshots. */
export class DatagramCounts {
  private readonly counts = new Map<DatagramKind, number>(DATAGRAM_KINDS.map((k) => [k, 0]));

  add(data: Uint8Array): void {
    const kind = datagramKind(data);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  snapshot(): Record<DatagramKind, number> {
    return Object.fromEntries(this.counts) as Record<DatagramKind, number>;
  }

  static minus(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of DATAGRAM_KINDS) {
      const d = (after[k] ?? 0) - (before[k] ?? 0);
      if (d > 0) out[k] = d;
    }
    return out;
  }
}
