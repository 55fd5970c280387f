/** Periodic status lines for long-running commands, from the node's counters (no protocol code). */
import type { Dht } from '../node/dht.js';

export interface StatusSample {
  time: string;
  nodes: number;
  buckets: number;
  queriesIn: number;
  queriesOut: number;
  inPerSec: number;
  outPerSec: number;
  timeouts: number;
  peers: number;
  infohashes: number;
  bootstrapped: boolean;
}

function totals(dhts: readonly Dht[]): { inbound: number; outbound: number; timeouts: number } {
  let inbound = 0;
  let outbound = 0;
  let timeouts = 0;
  for (const dht of dhts) {
    const rpc = dht.stats().rpc;
    if (!rpc) continue;
    for (const s of Object.values(rpc.inbound)) inbound += s.rx;
    for (const s of Object.values(rpc.outbound)) {
      outbound += s.tx;
      timeouts += s.timeouts;
    }
  }
  return { inbound, outbound, timeouts };
}

/** A sampler: each call returns counts and per-second rates since the previous call. */
export function createSampler(dhts: readonly Dht[]): () => Promise<StatusSample> {
  let last = { ...totals(dhts), at: Date.now() };
  return async () => {
    const now = Date.now();
    const t = totals(dhts);
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    let peers = 0;
    let infohashes = 0;
    let nodes = 0;
    let buckets = 0;
    for (const dht of dhts) {
      const c = await dht.peers.counts();
      peers += c.peers;
      infohashes += c.infohashes;
      nodes += dht.table.size;
      buckets += dht.table.bucketCount;
    }
    const sample: StatusSample = {
      time: new Date(now).toISOString(),
      nodes,
      buckets,
      queriesIn: t.inbound,
      queriesOut: t.outbound,
      inPerSec: Math.round(((t.inbound - last.inbound) / seconds) * 10) / 10,
      outPerSec: Math.round(((t.outbound - last.outbound) / seconds) * 10) / 10,
      timeouts: t.timeouts,
      peers,
      infohashes,
      bootstrapped: dhts.every((d) => d.isBootstrapped || d.table.size > 0),
    };
    last = { ...t, at: now };
    return sample;
  };
}

export function formatStatus(s: StatusSample): string {
  return (
    `${s.time.slice(11, 19)}  nodes ${s.nodes} in ${s.buckets} buckets  ` +
    `queries in ${s.inPerSec}/s out ${s.outPerSec}/s (timeouts ${s.timeouts})  ` +
    `peers ${s.peers} for ${s.infohashes} infohash(es)`
  );
}
