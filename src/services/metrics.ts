/**
 * Prometheus metrics from the statistics service. Names follow Prometheus conventions: a
 * `kadmium_` prefix, base units (seconds, bytes), `_total` for counters. Every family is listed
 * in docs/DAEMON.md.
 */
import { ANOMALY_RULES } from './anomaly.js';
import { histogramSamples, type MetricFamily, render, type Sample } from './prometheus.js';
import type { Statistics } from './statistics.js';

export async function collectMetrics(stats: Statistics): Promise<MetricFamily[]> {
  const node = stats.source.stats();
  const rpc = node.rpc;
  const now = stats.source.clock.now();
  const families: MetricFamily[] = [];
  const add = (name: string, type: MetricFamily['type'], help: string, samples: Sample[]): void => {
    families.push({ name: `kadmium_${name}`, type, help, samples });
  };
  const perMethod = <T>(
    table: Record<string, T> | undefined,
    pick: (s: T) => number,
    extra: Record<string, string> = {},
  ): Sample[] =>
    Object.entries(table ?? {}).map(([method, s]) => ({ labels: { method, ...extra }, value: pick(s) }));

  add('messages_sent_total', 'counter', 'KRPC messages sent, by method and kind (query, response, error).', [
    ...perMethod(rpc?.outbound, (s) => s.tx, { kind: 'query' }),
    ...perMethod(rpc?.inbound, (s) => s.tx, { kind: 'response' }),
    ...perMethod(rpc?.inbound, (s) => s.errors, { kind: 'error' }),
  ]);
  add(
    'messages_received_total',
    'counter',
    'KRPC messages received, by method and kind (query, response, error).',
    [
      ...perMethod(rpc?.inbound, (s) => s.rx, { kind: 'query' }),
      ...perMethod(rpc?.outbound, (s) => s.rx, { kind: 'response' }),
      ...perMethod(rpc?.outbound, (s) => s.errors, { kind: 'error' }),
    ],
  );
  add(
    'query_timeouts_total',
    'counter',
    'Our queries that got no reply after all retries, by method.',
    perMethod(rpc?.outbound, (s) => s.timeouts),
  );
  add(
    'query_errors_total',
    'counter',
    'Our queries answered with a KRPC error, by method.',
    perMethod(rpc?.outbound, (s) => s.errors),
  );
  add('messages_dropped_total', 'counter', 'Inbound datagrams dropped, by reason.', [
    { labels: { reason: 'malformed' }, value: rpc?.dropped.malformed ?? 0 },
    { labels: { reason: 'unsolicited' }, value: rpc?.dropped.unsolicited ?? 0 },
    { labels: { reason: 'rate_limited' }, value: rpc?.dropped.rateLimited ?? 0 },
  ]);
  add('queries_in_flight', 'gauge', 'Our queries waiting for a reply.', [{ value: node.inFlight }]);

  const lookups: Sample[] = [...stats.lookupsTotal].map(([key, value]) => {
    const [kind, outcome] = key.split(' ') as [string, string];
    return { labels: { kind, outcome }, value };
  });
  add('lookups_total', 'counter', 'Iterative lookups finished, by kind and outcome (ok, failed).', lookups);
  const latency: Sample[] = [];
  for (const [kind, h] of Object.entries(stats.latencySnapshot())) {
    latency.push(...histogramSamples(h.bounds, h.counts, h.sum, h.count, { kind }));
  }
  add(
    'lookup_duration_seconds',
    'histogram',
    'Time from start to end of an iterative lookup, by kind.',
    latency,
  );
  const first: Sample[] = [];
  for (const [kind, h] of Object.entries(stats.firstResultSnapshot())) {
    first.push(...histogramSamples(h.bounds, h.counts, h.sum, h.count, { kind }));
  }
  add(
    'lookup_first_result_seconds',
    'histogram',
    'Time from the start of a lookup to its first result (a peer, an item), by kind.',
    first,
  );

  const buckets = stats.source.table.describe(now);
  add('routing_table_nodes', 'gauge', 'Nodes in the routing table.', [{ value: node.routingTable.size }]);
  add('routing_table_buckets', 'gauge', 'Buckets in the routing table.', [
    { value: node.routingTable.buckets },
  ]);
  const fill: Sample[] = [];
  for (const b of buckets) {
    for (const state of ['good', 'questionable', 'bad'] as const)
      fill.push({ labels: { bucket: b.index, state }, value: b[state] });
  }
  add('routing_bucket_nodes', 'gauge', 'Nodes per bucket and state (good, questionable, bad).', fill);
  add(
    'routing_bucket_replacements',
    'gauge',
    'Replacement-cache entries per bucket.',
    buckets.map((b) => ({ labels: { bucket: b.index }, value: b.replacements })),
  );
  add('nodes_added_total', 'counter', 'Nodes added to the routing table.', [
    { value: stats.counters.nodesAdded },
  ]);
  add('node_evictions_total', 'counter', 'Nodes removed from the routing table, by reason (bad, failed).', [
    { labels: { reason: 'bad' }, value: stats.counters.evictions.bad },
    { labels: { reason: 'failed' }, value: stats.counters.evictions.failed },
  ]);

  const storage = await stats.storageCounts();
  add('stored_peers', 'gauge', 'Peers stored from announce_peer, live.', [{ value: storage.peers }]);
  add('stored_infohashes', 'gauge', 'Infohashes with at least one stored peer.', [
    { value: storage.infohashes },
  ]);
  if (storage.items !== undefined)
    add('stored_items', 'gauge', 'BEP 44 items stored.', [{ value: storage.items }]);
  add('peers_announced_total', 'counter', 'announce_peer requests we accepted.', [
    { value: stats.counters.peersStored },
  ]);
  add('token_rotations_total', 'counter', 'Write-token secret rotations.', [{ value: node.tokenRotations }]);

  if (node.nat)
    add('nat_info', 'gauge', 'The NAT in front of the node (last STUN discovery), as labels; always 1.', [
      { labels: { kind: node.nat.kind, mapping: node.nat.mapping, filtering: node.nat.filtering }, value: 1 },
    ]);
  add('punches_total', 'counter', 'Hole punches we started, by outcome.', [
    { labels: { outcome: 'ok' }, value: node.punch.punched },
    { labels: { outcome: 'failed' }, value: node.punch.failed },
    { labels: { outcome: 'relayed' }, value: node.punch.relayed },
  ]);
  add('contact_breakers_opened_total', 'counter', 'Per-contact breakers opened (timeouts in a row).', [
    { value: node.contactBreakers.opened },
  ]);
  add('contact_breaker_skips_total', 'counter', 'Lookup queries skipped because a breaker was open.', [
    { value: node.contactBreakers.skipped },
  ]);
  add('punch_introductions_total', 'counter', 'Introductions we made as a rendezvous.', [
    { value: node.punch.introductions },
  ]);
  add('relay_datagrams_total', 'counter', 'Datagrams through our TURN allocation, by direction.', [
    { labels: { direction: 'sent' }, value: node.relay.sent },
    { labels: { direction: 'received' }, value: node.relay.received },
  ]);
  add('relay_node_datagrams_total', 'counter', 'Datagrams through relaying DHT nodes, by direction.', [
    { labels: { direction: 'sent' }, value: node.relay.viaNodes.sent },
    { labels: { direction: 'received' }, value: node.relay.viaNodes.received },
  ]);
  const serving = node.relay.serving;
  if (serving) {
    add('relay_circuits', 'gauge', 'Relay circuits we carry now.', [{ value: serving.circuits }]);
    add('relay_circuits_total', 'counter', 'Relay circuit requests, by outcome.', [
      { labels: { outcome: 'opened' }, value: serving.opened },
      { labels: { outcome: 'refused' }, value: serving.refused },
    ]);
    add(
      'relay_forwarded_total',
      'counter',
      'Datagrams we relayed, and dropped (no circuit or over budget).',
      [
        { labels: { outcome: 'forwarded' }, value: serving.datagrams },
        { labels: { outcome: 'dropped' }, value: serving.dropped },
      ],
    );
    add('relay_forwarded_bytes_total', 'counter', 'Payload bytes we relayed.', [{ value: serving.bytes }]);
  }

  add('bootstrapped', 'gauge', '1 once the node joined the network, else 0.', [
    { value: node.bootstrapped ? 1 : 0 },
  ]);
  add('bootstrap_attempts_total', 'counter', 'Bootstrap rounds, by outcome.', [
    { labels: { outcome: 'ok' }, value: stats.counters.bootstrapAttempts - stats.counters.bootstrapFailures },
    { labels: { outcome: 'failed' }, value: stats.counters.bootstrapFailures },
  ]);
  add(
    'warnings_total',
    'counter',
    'Warnings the node reported, by code.',
    [...stats.warnings].map(([code, value]) => ({ labels: { code }, value })),
  );
  add(
    'anomalies_total',
    'counter',
    'Anomaly episodes flagged, by rule.',
    ANOMALY_RULES.map((rule) => ({ labels: { rule }, value: stats.detector.raised[rule] })),
  );
  add('anomalies_active', 'gauge', 'Anomaly flags active now.', [{ value: stats.detector.active().length }]);

  const memory = process.memoryUsage();
  add('process_resident_memory_bytes', 'gauge', 'Resident set size of the process.', [{ value: memory.rss }]);
  add('process_heap_used_bytes', 'gauge', 'V8 heap in use.', [{ value: memory.heapUsed }]);
  add('process_heap_total_bytes', 'gauge', 'V8 heap allocated.', [{ value: memory.heapTotal }]);
  const rt = stats.runtime.snapshot();
  add('event_loop_delay_seconds', 'gauge', 'Event-loop delay since start, by quantile (and max).', [
    { labels: { quantile: '0.5' }, value: rt.eventLoopDelayMs.p50 / 1000 },
    { labels: { quantile: '0.99' }, value: rt.eventLoopDelayMs.p99 / 1000 },
    { labels: { quantile: '1' }, value: rt.eventLoopDelayMs.max / 1000 },
  ]);
  add(
    'gc_pauses_total',
    'counter',
    'Garbage collections, by kind (minor = scavenge, major = mark-sweep-compact).',
    Object.entries(rt.gc.byKind).map(([kind, k]) => ({ labels: { kind }, value: k.count })),
  );
  add(
    'gc_pause_seconds_total',
    'counter',
    'Time the process was paused for garbage collection, by kind.',
    Object.entries(rt.gc.byKind).map(([kind, k]) => ({ labels: { kind }, value: k.pauseMs / 1000 })),
  );
  add('uptime_seconds', 'gauge', 'Seconds since the statistics service started.', [
    { value: Math.round((now - stats.startedAt) / 1000) },
  ]);
  return families;
}

export async function metricsText(stats: Statistics): Promise<string> {
  return render(await collectMetrics(stats));
}
