/**
 * simulate(): the one call behind `kadmium sim`, the tests and the benchmarks.
 *
 *   const result = await simulate({ nodes: 2000, seed: 7, scenario: 'churn' });
 *
 * A failure (thrown error) carries the seed in its message; rerunning with the same options
 * replays the run exactly.
 */
import type { FloodCounters } from './flood.js';
import { opStats, type SimOptions, type SimResult, SimContext } from './runner.js';
import { SCENARIOS } from './scenarios.js';
import { connectBreakdown } from './nat-sim.js';

export function replayCommand(o: SimOptions): string {
  const parts = [`kadmium sim --scenario ${o.scenario} --nodes ${o.nodes} --seed ${o.seed}`];
  if (o.lookups !== undefined) parts.push(`--lookups ${o.lookups}`);
  if (o.build !== undefined) parts.push(`--build ${o.build}`);
  if (o.warmUp !== undefined) parts.push(`--warm-up ${o.warmUp}`);
  if (o.natFraction !== undefined) parts.push(`--nat ${o.natFraction}`);
  if (o.symmetricFraction !== undefined) parts.push(`--symmetric ${o.symmetricFraction}`);
  if (o.punch !== undefined) parts.push(`--punch ${o.punch ? 'on' : 'off'}`);
  if (o.relay !== undefined) parts.push(`--relay ${o.relay ? 'on' : 'off'}`);
  if (o.readOnlyFraction !== undefined) parts.push(`--read-only ${o.readOnlyFraction}`);
  if (o.lossRate !== undefined) parts.push(`--loss ${o.lossRate}`);
  if (o.churn !== undefined) parts.push(`--churn ${o.churn}`);
  if (o.rotateFraction !== undefined) parts.push(`--rotate ${o.rotateFraction}`);
  if (o.rotateEveryMs !== undefined) parts.push(`--rotate-every ${o.rotateEveryMs / 60_000}`);
  if (o.latency !== undefined) parts.push(`--latency ${o.latency.length > 0 ? o.latency.join(',') : 'none'}`);
  if (o.durationMs !== undefined) parts.push(`--minutes ${o.durationMs / 60_000}`);
  if (o.adversary !== undefined) parts.push(`--adversary ${o.adversary}`);
  if (o.adversaryFraction !== undefined) parts.push(`--fraction ${o.adversaryFraction}`);
  if (o.lookupPaths !== undefined) parts.push(`--paths ${o.lookupPaths}`);
  if (o.alpha !== undefined) parts.push(`--alpha ${o.alpha}`);
  if (o.reputation) parts.push('--reputation');
  if (o.tokenReplay === false) parts.push('--no-token-replay');
  if (o.secureIds) parts.push('--secure-ids');
  return parts.join(' ');
}

export async function simulate(options: SimOptions): Promise<SimResult> {
  const scenario = SCENARIOS[options.scenario];
  if (!scenario)
    throw new RangeError(
      `unknown scenario "${options.scenario}"; choose one of: ${Object.keys(SCENARIOS).join(', ')}`,
    );
  if (!Number.isInteger(options.nodes) || options.nodes < 4)
    throw new RangeError(`a simulation needs at least 4 nodes, got ${options.nodes}`);
  const replay = replayCommand(options);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baseline = process.memoryUsage();
  const started = performance.now();
  const ctx = new SimContext(options);
  let heapBytesPerNode = 0;
  let rssBytesPerNode = 0;
  try {
    const buildNetwork = ctx.buildNetwork.bind(ctx);
    ctx.buildNetwork = async (mode) => {
      await buildNetwork(mode);
      gc?.();
      const after = process.memoryUsage();
      heapBytesPerNode = (after.heapUsed - baseline.heapUsed) / options.nodes;
      rssBytesPerNode = (after.rss - baseline.rss) / options.nodes;
    };
    await scenario.run(ctx);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`simulation failed (seed ${options.seed}): ${message}\nreplay: ${replay}`, {
      cause: err,
    });
  }
  const wallMs = performance.now() - started;
  const lookupKinds = new Set<string>(ctx.phases.map((p) => p.lookupKind));
  const lookups = ctx.samples.filter((s) => lookupKinds.has(s.kind));
  const minutes = new Map<number, { minute: number; count: number; ok: number }>();
  for (const s of lookups) {
    const minute = Math.floor(s.at / 60_000);
    const bin = minutes.get(minute) ?? { minute, count: 0, ok: 0 };
    bin.count++;
    if (s.ok) bin.ok++;
    minutes.set(minute, bin);
  }
  const result: SimResult = {
    seed: options.seed,
    scenario: options.scenario,
    nodes: options.nodes,
    build: { ...ctx.build },
    phases: ctx.phases,
    overall: opStats(lookups),
    timeline: [...minutes.values()].sort((a, b) => a.minute - b.minute),
    samples: ctx.samples,
    network: { ...ctx.world.network.counters },
    virtualMs: ctx.world.clock.now(),
    replay,
    perf: { wallMs, buildWallMs: ctx.buildWallMs, heapBytesPerNode, rssBytesPerNode },
  };
  if (ctx.churn) result.churn = ctx.churn;
  if (ctx.samples.some((s) => s.kind === 'connect')) result.connect = connectBreakdown(ctx.samples);
  if (ctx.adversaries)
    result.adversaries = {
      kind: ctx.adversaries.kind,
      fraction: ctx.adversaries.fraction,
      count: ctx.adversaries.count,
      distrusted: countDistrusted(ctx),
      ...(ctx.adversaries.kind === 'announce-flood'
        ? { flood: await floodOutcome(ctx, ctx.adversaries.flood) }
        : {}),
    };
  if (ctx.rotation) result.rotation = ctx.rotation;
  const model = failureModelStats(ctx);
  if (model) result.failureModel = model;
  await ctx.world.close();
  return result;
}

/**
 * How well the live nodes' failure models (`predict-failures`) predicted their queries' outcomes:
 * mean log loss against always predicting the failure rate seen so far. Undefined when off.
 */
function failureModelStats(ctx: SimContext): SimResult['failureModel'] {
  let outcomes = 0;
  let failures = 0;
  let loss = 0;
  let base = 0;
  for (const node of ctx.world.live) {
    const s = node.dht.latency.failures?.stats();
    if (!s) continue;
    outcomes += s.outcomes;
    failures += s.failures;
    loss += s.logLoss * s.outcomes;
    base += s.baseLogLoss * s.outcomes;
  }
  if (outcomes === 0) return undefined;
  return { outcomes, failures, logLoss: loss / outcomes, baseLogLoss: base / outcomes };
}

/** The flood's counters, and the popular swarms at the 8 honest nodes closest to each. */
async function floodOutcome(
  ctx: SimContext,
  counters: FloodCounters,
): Promise<FloodCounters & { swarmMax: number; fakeShare: number }> {
  const { world } = ctx;
  const hostileHosts = new Set(world.live.filter((n) => n.hostile).map((n) => n.endpoint.address.host));
  let swarmMax = 0;
  let peers = 0;
  let fake = 0;
  for (const hash of world.popular ?? []) {
    for (const node of world.closestLive(hash, 8, (n) => !n.hostile)) {
      const held = await node.dht.peers.peers(hash, 10_000, 4, world.clock.now());
      swarmMax = Math.max(swarmMax, held.length);
      peers += held.length;
      fake += held.filter((p) => hostileHosts.has(p.address.host)).length;
    }
  }
  return { ...counters, swarmMax, fakeShare: peers > 0 ? Math.round((fake / peers) * 1000) / 1000 : 0 };
}

/** Contacts honest nodes came to distrust (reputation on), summed over the live honest nodes. */
function countDistrusted(ctx: SimContext): number {
  let n = 0;
  for (const node of ctx.world.live) if (!node.hostile) n += node.dht.reputation?.distrusted ?? 0;
  return n;
}

/** The deterministic part of a result, for replay checks: everything but `perf`. */
export function fingerprint(result: SimResult): string {
  const { perf: _perf, ...rest } = result;
  return JSON.stringify(rest);
}
