/**
 * What the daemon shows about its overlay node: counters kept from the node's events (lookups,
 * gets, puts, lies, busy replies) plus a bounded list of recent lookups, and the Prometheus
 * families built from them and from `node.stats()`. Consumes `node.events`; the node never
 * calls in here.
 */
import type { OverlayNode } from '../node/overlay-node.js';
import { addressKey } from '../transport/address.js';
import { toHex } from '../util/bytes.js';
import { Histogram, type HistogramSnapshot } from './histogram.js';
import { histogramSamples, type MetricFamily, type Sample } from './prometheus.js';

/** Recent lookups kept for the dashboard and /api/overlay/status. */
export const OVERLAY_RECENT_LOOKUPS = 20;
/** Recent lies kept (who answered with a forged or misaddressed item, and why). */
export const OVERLAY_RECENT_LIES = 20;
/** A lie's reason is text from our verifier, but keep what we hold per entry bounded anyway. */
const MAX_REASON_CHARS = 200;

export interface OverlayLookupRecord {
  kind: 'get_value' | 'find_node';
  target: string;
  durationMs: number;
  queried: number;
  responded: number;
  hops: number;
}

export interface OverlayLieRecord {
  from: string;
  reason: string;
}

export class OverlayStatistics {
  readonly lookups = { get_value: 0, find_node: 0 };
  readonly gets = { found: 0, missing: 0 };
  /** Seconds a get took to end (what `get()` waits for), and to its first verified item. */
  readonly getSeconds = new Histogram();
  readonly firstItemSeconds = new Histogram();
  readonly puts = { ok: 0, unstored: 0 };
  lies = 0;
  busy = 0;
  badFrames = 0;
  droppedPeers = 0;
  added = 0;
  evicted = 0;
  private readonly recent: OverlayLookupRecord[] = [];
  private readonly recentLiesList: OverlayLieRecord[] = [];
  private readonly unsubscribe: (() => void)[];

  /** `keepLookups`: recent lookups kept (0 keeps none, e.g. the private profile). */
  constructor(
    readonly node: OverlayNode,
    private readonly keepLookups = OVERLAY_RECENT_LOOKUPS,
  ) {
    const ev = node.events;
    this.unsubscribe = [
      ev.on('overlay:lookup', (e) => {
        this.lookups[e.kind]++;
        if (this.keepLookups === 0) return;
        this.recent.push({
          kind: e.kind,
          target: toHex(e.target),
          durationMs: e.durationMs,
          queried: e.queried,
          responded: e.responded,
          hops: e.hops,
        });
        if (this.recent.length > this.keepLookups) this.recent.shift();
      }),
      ev.on('overlay:get', (e) => {
        if (e.found) this.gets.found++;
        else this.gets.missing++;
        this.getSeconds.observe(e.durationMs / 1000);
        if (e.firstMs !== undefined) this.firstItemSeconds.observe(e.firstMs / 1000);
      }),
      ev.on('overlay:put', (e) => {
        if (e.stored > 0) this.puts.ok++;
        else this.puts.unstored++;
      }),
      ev.on('overlay:lie', (e) => {
        this.lies++;
        this.recentLiesList.push({ from: addressKey(e.from), reason: e.reason.slice(0, MAX_REASON_CHARS) });
        if (this.recentLiesList.length > OVERLAY_RECENT_LIES) this.recentLiesList.shift();
      }),
      ev.on('rpc:busy', () => void this.busy++),
      ev.on('rpc:bad-frame', () => void this.badFrames++),
      ev.on('rpc:dropped-peer', () => void this.droppedPeers++),
      ev.on('overlay:added', () => void this.added++),
      ev.on('overlay:evicted', () => void this.evicted++),
    ];
  }

  /** Newest first. */
  recentLookups(): OverlayLookupRecord[] {
    return [...this.recent].reverse();
  }

  recentLies(): OverlayLieRecord[] {
    return [...this.recentLiesList].reverse();
  }

  /** Counters and node figures in one JSON-safe document. */
  snapshot(): {
    contacts: number;
    items: Record<string, number>;
    rpc: ReturnType<OverlayNode['stats']>['rpc'];
    inFlight: number;
    lookups: { get_value: number; find_node: number };
    gets: { found: number; missing: number };
    /** Time a get took, and time to its first verified item, seconds. */
    getSeconds: HistogramSnapshot;
    firstItemSeconds: HistogramSnapshot;
    puts: { ok: number; unstored: number };
    lies: number;
    busy: number;
    badFrames: number;
    droppedPeers: number;
    contactsAdded: number;
    contactsEvicted: number;
    recentLookups: OverlayLookupRecord[];
    recentLies: OverlayLieRecord[];
  } {
    const s = this.node.stats();
    return {
      contacts: s.contacts,
      items: { ...s.items },
      rpc: s.rpc,
      inFlight: s.connectionsHandling,
      lookups: { ...this.lookups },
      gets: { ...this.gets },
      getSeconds: this.getSeconds.snapshot(),
      firstItemSeconds: this.firstItemSeconds.snapshot(),
      puts: { ...this.puts },
      lies: this.lies,
      busy: this.busy,
      badFrames: this.badFrames,
      droppedPeers: this.droppedPeers,
      contactsAdded: this.added,
      contactsEvicted: this.evicted,
      recentLookups: this.recentLookups(),
      recentLies: this.recentLies(),
    };
  }

  close(): void {
    for (const off of this.unsubscribe) off();
  }
}

/** The overlay's Prometheus families, `kadmium_overlay_*` (listed in docs/DAEMON.md). */
export function overlayMetrics(stats: OverlayStatistics): MetricFamily[] {
  const s = stats.snapshot();
  const families: MetricFamily[] = [];
  const add = (name: string, type: MetricFamily['type'], help: string, samples: Sample[]): void => {
    families.push({ name: `kadmium_overlay_${name}`, type, help, samples });
  };
  const out = Object.entries(s.rpc.outbound);
  const inb = Object.entries(s.rpc.inbound);
  add('contacts', 'gauge', 'Contacts in the overlay routing table.', [{ value: s.contacts }]);
  add(
    'stored_items',
    'gauge',
    'Overlay items stored, by trust tier (whitelisted, trusted, public).',
    Object.entries(s.items).map(([tier, value]) => ({ labels: { tier }, value })),
  );
  add('rpc_sent_total', 'counter', 'Overlay RPC requests we sent, by method.', [
    ...out.map(([method, m]) => ({ labels: { method }, value: m.tx })),
  ]);
  add('rpc_answered_total', 'counter', 'Overlay RPC requests of ours that were answered, by method.', [
    ...out.map(([method, m]) => ({ labels: { method }, value: m.rx })),
  ]);
  add(
    'rpc_failed_total',
    'counter',
    'Overlay RPC requests of ours that failed, by method and how (error reply, timeout).',
    [
      ...out.map(([method, m]) => ({ labels: { method, how: 'error' }, value: m.errors })),
      ...out.map(([method, m]) => ({ labels: { method, how: 'timeout' }, value: m.timeouts })),
    ],
  );
  add('rpc_received_total', 'counter', 'Overlay RPC requests others sent us, by method.', [
    ...inb.map(([method, m]) => ({ labels: { method }, value: m.rx })),
  ]);
  add('rpc_errors_total', 'counter', 'Overlay RPC requests of others we answered with an error, by method.', [
    ...inb.map(([method, m]) => ({ labels: { method }, value: m.errors })),
  ]);
  add('rpc_in_flight', 'gauge', 'Overlay requests from others being handled now.', [{ value: s.inFlight }]);
  for (const [name, help, h] of [
    [
      'get_duration_seconds',
      'Time an overlay get took to end (the highest seq among all sources).',
      s.getSeconds,
    ],
    [
      'get_first_item_seconds',
      'Time from the start of an overlay get to its first verified item.',
      s.firstItemSeconds,
    ],
  ] as const) {
    add(name, 'histogram', help, histogramSamples(h.bounds, h.counts, h.sum, h.count, {}));
  }
  add('lookups_total', 'counter', 'Overlay lookups finished, by kind.', [
    { labels: { kind: 'get_value' }, value: s.lookups.get_value },
    { labels: { kind: 'find_node' }, value: s.lookups.find_node },
  ]);
  add('gets_total', 'counter', 'Overlay gets, by outcome (found, missing).', [
    { labels: { outcome: 'found' }, value: s.gets.found },
    { labels: { outcome: 'missing' }, value: s.gets.missing },
  ]);
  add('puts_total', 'counter', 'Overlay puts, by outcome (ok, unstored: no node took it).', [
    { labels: { outcome: 'ok' }, value: s.puts.ok },
    { labels: { outcome: 'unstored' }, value: s.puts.unstored },
  ]);
  add('lies_total', 'counter', 'Items from other nodes that failed verification (forged or off-target).', [
    { value: s.lies },
  ]);
  add('busy_replies_total', 'counter', 'Requests we refused with "busy, retry after" (rpc:busy).', [
    { value: s.busy },
  ]);
  add('bad_frames_total', 'counter', 'Malformed frames received on overlay connections.', [
    { value: s.badFrames },
  ]);
  add('dropped_peers_total', 'counter', 'Overlay connections closed for misbehaviour.', [
    { value: s.droppedPeers },
  ]);
  return families;
}
