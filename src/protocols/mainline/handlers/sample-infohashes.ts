import { MAX_SAMPLES, SAMPLE_INTERVAL_S } from '../sampler.js';
import type { Handler } from './context.js';
import { closestNodes } from './nodes.js';

/**
 * BEP 51 sample_infohashes: a sample of the infohashes we hold peers for, how many we hold in all
 * (`num`), when to ask again (`interval`, s), and the closest nodes to `target` so an indexer can
 * walk the keyspace with one query per node. `samples` is always present, even when empty.
 */
export const sampleInfohashes: Handler<'sample_infohashes'> = async (ctx, query, from) => {
  let sample;
  if (ctx.sampler) {
    sample = await ctx.sampler.sample();
  } else {
    const hashes = await ctx.peers.infohashes(MAX_SAMPLES);
    const samples = new Uint8Array(hashes.length * 20);
    hashes.forEach((h, i) => samples.set(h, i * 20));
    sample = { samples, num: (await ctx.peers.counts()).infohashes, interval: SAMPLE_INTERVAL_S };
  }
  return {
    id: ctx.localId,
    interval: sample.interval,
    ...closestNodes(ctx, query.target, query.want, from),
    num: sample.num,
    samples: sample.samples,
  };
};
