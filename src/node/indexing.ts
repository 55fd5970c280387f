/**
 * The BEP 33 and BEP 51 operations: scraping an infohash (a get_peers lookup with scrape=1 whose
 * bloom filters are OR-ed together) and sampling infohashes on a walk through the keyspace.
 */
import type { LookupResult } from '../kademlia/lookup.js';
import type { MainlineClient, PeersReply, SampleReply } from '../protocols/mainline/client.js';
import { ScrapeBloom } from '../protocols/mainline/scrape-bloom.js';
import { bytesToBinaryString } from '../util/bytes.js';
import { type LookupHost, runLookup, seedsFor } from './lookups.js';
import type { SampleInfohashesResult, ScrapeResult } from './options.js';

export async function scrapeLookup(
  host: LookupHost,
  client: MainlineClient,
  infoHash: Uint8Array,
  signal: AbortSignal,
): Promise<ScrapeResult> {
  const seeds = new ScrapeBloom();
  const leechers = new ScrapeBloom();
  const legacy: string[] = [];
  let withFilters = 0;
  const result: LookupResult<PeersReply> = await runLookup(
    host,
    'scrape',
    infoHash,
    seedsFor(host, infoHash),
    signal,
    (contact, onSlow) => client.getPeers(contact.address, infoHash, { signal, onSlow }, { scrape: true }),
    (reply) => {
      if (reply.seeds && reply.leechers) {
        withFilters++;
        seeds.merge(reply.seeds);
        leechers.merge(reply.leechers);
      } else {
        // BEP 33 legacy replies: values only, counted as peers (below, unless a filter says seed).
        for (const v of reply.values) legacy.push(v.host);
      }
    },
  );
  const seedCheck = new ScrapeBloom(seeds.bits);
  for (const ip of legacy) {
    // Skip IPs the seed filter already holds, so no one counts as seed and peer at once.
    const probe = new ScrapeBloom();
    probe.insertHost(ip);
    if (!probe.bits.every((b, i) => (b & (seedCheck.bits[i] as number)) === b)) leechers.insertHost(ip);
  }
  return {
    seeds: Math.round(seeds.estimate()),
    leechers: Math.round(leechers.estimate()),
    responded: result.responded,
    withFilters,
    seedFilter: seeds.bits,
    leecherFilter: leechers.bits,
  };
}

export async function sampleWalk(
  host: LookupHost,
  client: MainlineClient,
  target: Uint8Array,
  signal: AbortSignal,
): Promise<SampleInfohashesResult> {
  const seen = new Map<string, Uint8Array>();
  const nodes: SampleInfohashesResult['nodes'] = [];
  const result: LookupResult<SampleReply> = await runLookup(
    host,
    'sample_infohashes',
    target,
    seedsFor(host, target),
    signal,
    (contact, onSlow) => client.sampleInfohashes(contact.address, target, { signal, onSlow }),
    (reply) => {
      for (const h of reply.samples) {
        const key = bytesToBinaryString(h);
        if (!seen.has(key)) seen.set(key, h);
      }
      nodes.push({
        address: reply.from,
        id: reply.id,
        num: reply.num,
        interval: reply.interval,
        samples: reply.samples.length,
      });
    },
  );
  return { infohashes: [...seen.values()], nodes, failed: result.failed };
}
