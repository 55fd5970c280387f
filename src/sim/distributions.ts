/**
 * Random variates for the simulator, all drawn from an injected Random so a seed replays them.
 * Latency uses the log-normal; session lengths use Pareto (and its equilibrium residual, for
 * nodes that are already online when the simulation starts) or Weibull.
 */
import type { Random } from '../util/random.js';

/** A float in (0, 1): never 0, so logarithms and powers stay finite. */
function open01(random: Random): number {
  let u = random.float();
  while (u === 0) u = random.float();
  return u;
}

/** Standard normal (Box-Muller; one value per call keeps the stream simple to replay). */
export function normal(random: Random): number {
  const u = open01(random);
  const v = random.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Log-normal with the given median (e^mu) and shape sigma: a long right tail. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(random));
}

export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(open01(random));
}

/** Pareto type I: minimum xm, tail index alpha (mean alpha*xm/(alpha-1) when alpha > 1). */
export function pareto(random: Random, xm: number, alpha: number): number {
  return xm / open01(random) ** (1 / alpha);
}

/** The mean of Pareto(xm, alpha), alpha > 1. */
export function paretoMean(xm: number, alpha: number): number {
  return (alpha * xm) / (alpha - 1);
}

/**
 * Remaining lifetime of a Pareto session observed at a random moment (the renewal process's
 * equilibrium residual). Starting already-online nodes from this makes departures steady from
 * time 0, instead of nobody leaving before xm. Needs alpha > 1. Survival:
 * P(R > t) = 1 - t/mean for t < xm, and (1/alpha) (xm/t)^(alpha-1) beyond.
 */
export function paretoResidual(random: Random, xm: number, alpha: number): number {
  const mean = paretoMean(xm, alpha);
  const s = open01(random);
  if (s >= 1 / alpha) return (1 - s) * mean;
  return xm * (alpha * s) ** (-1 / (alpha - 1));
}

/** Weibull with scale lambda and shape k (k < 1: heavy-ish tail, many short sessions). */
export function weibull(random: Random, lambda: number, k: number): number {
  return lambda * (-Math.log(open01(random))) ** (1 / k);
}

/**
 * Zipf over ranks 0..n-1 with exponent s (rank r drawn with weight 1/(r+1)^s): a few items are
 * asked for most of the time. The CDF is built once; each draw is a binary search.
 */
export function zipf(n: number, s: number): (random: Random) => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  return (random) => {
    const u = random.float() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
