/**
 * Predictive replacement (issue 15 item 3): a small online model of which contact will fail its
 * next query, learned from the outcomes this node sees (an answer, a timeout).
 *
 * Per contact address it keeps a few counters (answers, timeouts, timeouts since the last answer,
 * first heard, last answer, a smoothed RTT and its deviation) and turns them into FEATURE_COUNT
 * features. One logistic regression over those features, trained by stochastic gradient descent
 * on every outcome, predicts the probability that the next query to a contact fails. Before each
 * outcome updates a contact's counters the model predicts it from the counters as they were, then
 * takes one gradient step: it learns what this node's network looks like (under churn, age says
 * much; on a lossy link, the ratio does) instead of a rule picked for one network.
 *
 * What it replaces, when on (`predict-failures`, node/latency.ts): least-recently-seen as the
 * choice of whom to ping and evict in a full bucket, and plain distance as the only order of the
 * contacts we hand out (routing-table.ts `failureOf`).
 *
 * What the simulator showed (docs/LATENCY.md): 10-16% fewer timeouts per lookup than
 * least-recently-seen, nearly all from the hand-out order (recently answered contacts first, so
 * fewer queries die in NATs), and as much with learning off: a node there sees about one failure
 * in 14 minutes, too few to learn a ranking; the prior does the work.
 *
 * Memory is bounded: FEATURE_COUNT weights, and at most MAX_FAILURE_RECORDS addresses (least
 * recently touched dropped first). No clock and no randomness of its own: callers pass the time,
 * and the same outcomes in the same order give the same weights.
 */
import { type Address, addressKey } from '../transport/address.js';

/** Addresses tracked; past it the least recently touched record goes. */
export const MAX_FAILURE_RECORDS = 4_096;
/** Step size of the gradient descent. */
export const LEARNING_RATE = 0.05;
/** L2 weight decay per step: keeps weights small when a feature stops mattering. */
export const WEIGHT_DECAY = 1e-4;
/** Weights never leave [-MAX_WEIGHT, MAX_WEIGHT]: one odd stretch of outcomes cannot saturate the model. */
export const MAX_WEIGHT = 8;
/** Timeouts in a row counted as a feature, at most (more says nothing new). */
export const MAX_STREAK = 4;
/** Smoothing of the RTT estimate, as in RFC 6298 (rtt.ts). */
const RTT_GAIN = 0.125;
const RTTVAR_GAIN = 0.25;
const MINUTE_MS = 60_000;

/**
 * Feature order: bias, log answers, log timeouts, timeout streak, smoothed timeout ratio, log age
 * (minutes since first heard), log minutes since the last answer, never answered, RTT known,
 * RTT (s), RTT deviation over RTT.
 */
export const FEATURE_COUNT = 11;

/**
 * Starting weights: what a node believes before it has seen anything. A contact that answered a
 * few times, last a minute ago, fails about 2% of the time (once: about 4%), one last heard a quarter of an hour ago about 8% (it may
 * have left), a stranger about one in five, a contact that just timed out a third of the time
 * and one that timed out twice in a row most of the time. A node learns from few outcomes (in
 * the simulator, about 75 per node in 14 minutes, one in a hundred a failure), so this prior
 * does most of the work there; a long-running node moves away from it.
 */
export const PRIOR_WEIGHTS: readonly number[] = [-3, -0.5, 1, 8, 2, -0.2, 0.8, 0.5, -0.3, 0, 0];

interface FailureRecord {
  answers: number;
  timeouts: number;
  /** Timeouts since the last answer. */
  streak: number;
  firstAt: number;
  /** Clock time of the last answer; undefined when none. */
  answeredAt: number | undefined;
  /** Smoothed RTT and deviation, ms; srtt undefined until a first-attempt RTT arrived. */
  srtt: number | undefined;
  rttvar: number;
}

export interface FailureModelStats {
  /** Outcomes learned from. */
  outcomes: number;
  /** Mean log loss of the predictions made just before each outcome (lower is better). */
  logLoss: number;
  /** Mean log loss of always predicting the observed failure rate so far (the baseline). */
  baseLogLoss: number;
  /** Failures among the outcomes. */
  failures: number;
}

/** Clamp probabilities before taking logs: a certain prediction that is wrong costs ~16, not infinity. */
const EPSILON = 1e-7;

export class FailureModel {
  private readonly records = new Map<string, FailureRecord>();
  private readonly weights: Float64Array;
  /** Scratch features, reused by every prediction (the model is single-threaded). */
  private readonly x = new Float64Array(FEATURE_COUNT);
  private outcomes = 0;
  private failures = 0;
  private lossSum = 0;
  private baseLossSum = 0;

  constructor(
    private readonly max = MAX_FAILURE_RECORDS,
    prior: readonly number[] = PRIOR_WEIGHTS,
  ) {
    this.weights = Float64Array.from({ length: FEATURE_COUNT }, (_, i) => prior[i] ?? 0);
  }

  get size(): number {
    return this.records.size;
  }

  /** A copy of the current weights, in FEATURE_COUNT order. */
  get weightsNow(): number[] {
    return [...this.weights];
  }

  /** The contact answered a query. */
  answered(address: Address, now: number): void {
    this.learn(addressKey(address), false, now);
  }

  /** The contact let a query time out. */
  timedOut(address: Address, now: number): void {
    this.learn(addressKey(address), true, now);
  }

  /** A first-attempt RTT, ms (Karn's rule, as rtt.ts): feeds the RTT features, not the learner. */
  rtt(address: Address, rttMs: number, now: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    const r = this.touch(addressKey(address), now);
    if (r.srtt === undefined) {
      r.srtt = rttMs;
      r.rttvar = rttMs / 2;
    } else {
      r.rttvar = (1 - RTTVAR_GAIN) * r.rttvar + RTTVAR_GAIN * Math.abs(r.srtt - rttMs);
      r.srtt = (1 - RTT_GAIN) * r.srtt + RTT_GAIN * rttMs;
    }
  }

  /**
   * Probability, 0..1, that the next query to this address fails; undefined when the model has
   * no record of it (nothing to tell it apart from any other stranger).
   */
  failureOf(address: Address, now: number): number | undefined {
    const r = this.records.get(addressKey(address));
    return r === undefined ? undefined : this.predict(r, now);
  }

  stats(): FailureModelStats {
    const n = Math.max(1, this.outcomes);
    return {
      outcomes: this.outcomes,
      failures: this.failures,
      logLoss: this.lossSum / n,
      baseLogLoss: this.baseLossSum / n,
    };
  }

  /** The record for key, made if new, moved to the most recently touched end of the map. */
  private touch(key: string, now: number): FailureRecord {
    let r = this.records.get(key);
    if (r === undefined) {
      r = {
        answers: 0,
        timeouts: 0,
        streak: 0,
        firstAt: now,
        answeredAt: undefined,
        srtt: undefined,
        rttvar: 0,
      };
      if (this.records.size >= this.max) {
        const oldest = this.records.keys().next().value;
        if (oldest !== undefined) this.records.delete(oldest);
      }
    } else {
      this.records.delete(key);
    }
    this.records.set(key, r);
    return r;
  }

  private learn(key: string, failed: boolean, now: number): void {
    const r = this.touch(key, now);
    // Predict from what we knew before this outcome, score the prediction, then learn from it.
    const p = this.predict(r, now);
    const y = failed ? 1 : 0;
    const base = (this.failures + 1) / (this.outcomes + 2);
    this.lossSum += logLoss(p, y);
    this.baseLossSum += logLoss(base, y);
    this.outcomes++;
    if (failed) this.failures++;
    const g = p - y;
    const w = this.weights;
    const x = this.x;
    for (let i = 0; i < FEATURE_COUNT; i++) {
      const next =
        (w[i] as number) - LEARNING_RATE * (g * (x[i] as number) + WEIGHT_DECAY * (w[i] as number));
      w[i] = Math.max(-MAX_WEIGHT, Math.min(MAX_WEIGHT, next));
    }
    if (failed) {
      r.timeouts++;
      r.streak++;
    } else {
      r.answers++;
      r.streak = 0;
      r.answeredAt = now;
    }
  }

  /** The model's probability for record r at time now; leaves r's features in `this.x`. */
  private predict(r: FailureRecord, now: number): number {
    const x = this.x;
    const seen = r.answers + r.timeouts;
    x[0] = 1;
    x[1] = Math.log1p(r.answers);
    x[2] = Math.log1p(r.timeouts);
    x[3] = Math.min(r.streak, MAX_STREAK) / MAX_STREAK;
    x[4] = (r.timeouts + 0.5) / (seen + 1);
    x[5] = Math.log1p(Math.max(0, now - r.firstAt) / MINUTE_MS);
    x[6] = r.answeredAt === undefined ? 0 : Math.log1p(Math.max(0, now - r.answeredAt) / MINUTE_MS);
    x[7] = r.answers === 0 ? 1 : 0;
    x[8] = r.srtt === undefined ? 0 : 1;
    x[9] = r.srtt === undefined ? 0 : r.srtt / 1000;
    x[10] = r.srtt === undefined ? 0 : r.rttvar / (r.srtt + 1);
    let z = 0;
    for (let i = 0; i < FEATURE_COUNT; i++) z += (this.weights[i] as number) * (x[i] as number);
    return 1 / (1 + Math.exp(-z));
  }
}

function logLoss(p: number, y: number): number {
  const q = Math.min(1 - EPSILON, Math.max(EPSILON, p));
  return y === 1 ? -Math.log(q) : -Math.log(1 - q);
}

/**
 * A full bucket's member to evict for a newcomer that just answered us: the one most likely to
 * fail, when that is at least EVICT_FAILURE_P (a contact merely older than the newcomer stays:
 * least-recently-seen's lesson, that old contacts outlive new ones, is the model's to learn).
 */
export const EVICT_FAILURE_P = 0.5;
/**
 * Contacts at least this likely to fail are handed out after the others in the 2n nearest: a
 * far lower bar than eviction, since handing out a slightly farther contact costs little. Just
 * above what the prior gives a contact that answered a minute ago (about 2%), so what waits is
 * everything less certain: strangers, contacts that only queried us (behind a NAT, often), ones
 * long silent or that timed out. At 0.25 only timed-out contacts waited, and the simulator showed
 * no change at all (docs/LATENCY.md); at 0.03 timeouts per lookup fell by 10-16%.
 */
export const HANDOUT_FAILURE_P = 0.03;

/** The member with the highest failure probability, at least `atLeast`; undefined when none. */
export function likeliestToFail<T>(
  members: Iterable<T>,
  failureOf: (member: T) => number | undefined,
  atLeast: number,
): T | undefined {
  let worst: T | undefined;
  let worstP = atLeast;
  for (const m of members) {
    const p = failureOf(m);
    if (p !== undefined && p >= worstP && (worst === undefined || p > worstP)) {
      worst = m;
      worstP = p;
    }
  }
  return worst;
}

/**
 * The n to hand out from `window` (nearest first, up to 2n): the ones `ok` accepts first, in
 * order, then the others, so a young table with few trusted contacts still answers with n.
 */
export function preferring<T>(window: readonly T[], n: number, ok: (member: T) => boolean): T[] {
  const chosen = window.filter(ok).slice(0, n);
  for (const m of window) {
    if (chosen.length >= n) break;
    if (!ok(m)) chosen.push(m);
  }
  return chosen;
}
