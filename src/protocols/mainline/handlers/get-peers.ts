import type { Address } from '../../../transport/address.js';
import { then } from '../../../util/maybe-promise.js';
import type { BDict } from '../../../wire/bencode.js';
import { encodePeers } from '../../../wire/compact.js';
import { ScrapeBloom } from '../scrape-bloom.js';
import type { Handler, HandlerContext } from './context.js';
import { closestNodes } from './nodes.js';

/** Peers read per family to build BEP 33 filters (the store caps swarms well below this). */
const SCRAPE_READ_MAX = 10_000;

/**
 * BEP 5 get_peers: a write token, the peers we hold (of the querier's address family, capped to
 * fit one datagram), and the closest nodes, so lookups keep converging even where peers are known.
 * BEP 33: `noseed` leaves seeds out of `values`; `scrape` adds the BFsd/BFpe bloom filters when
 * we hold peers for the infohash (and halves `values` to leave room for their 512 bytes).
 *
 * The reply is built synchronously when the peer store answers synchronously (memory, SQLite):
 * only a store that must wait (Redis), or a scrape, makes the handler return a promise.
 */
export const getPeers: Handler<'get_peers'> = (ctx, query, from) => {
  const cap = from.family === 4 ? ctx.maxValues.v4 : ctx.maxValues.v6;
  const max = query.scrape ? Math.floor(cap / 2) : cap;
  const stored = ctx.peers.peers(query.infoHash, max * 2, from.family, ctx.clock.now());
  return then(stored, (found) => {
    const peers: Address[] = [];
    for (const p of found) {
      // BEP 33 noseed: the querier wants leechers only.
      if (query.noseed && p.seed) continue;
      peers.push(p.address);
      if (peers.length >= max) break;
    }
    const reply = (blooms: BDict | undefined): BDict => ({
      BFpe: blooms?.BFpe,
      BFsd: blooms?.BFsd,
      id: ctx.localId,
      ...closestNodes(ctx, query.infoHash, query.want, from),
      token: ctx.tokens.issue('peers', from.host, query.infoHash),
      values: peers.length > 0 ? encodePeers(peers) : undefined,
    });
    return query.scrape ? scrapeFilters(ctx, query.infoHash).then(reply) : reply(undefined);
  });
};

/** BEP 33: bloom filters of the IPs of every seed and every other peer we hold; none when we hold none. */
async function scrapeFilters(ctx: HandlerContext, infoHash: Uint8Array): Promise<BDict | undefined> {
  const now = ctx.clock.now();
  const [v4, v6] = await Promise.all([
    ctx.peers.peers(infoHash, SCRAPE_READ_MAX, 4, now),
    ctx.peers.peers(infoHash, SCRAPE_READ_MAX, 6, now),
  ]);
  if (v4.length + v6.length === 0) return undefined;
  const seeds = new ScrapeBloom();
  const leechers = new ScrapeBloom();
  for (const p of [...v4, ...v6]) (p.seed ? seeds : leechers).insertHost(p.address.host);
  return { BFsd: seeds.bits, BFpe: leechers.bits };
}
