import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EVICT_FAILURE_P,
  FailureModel,
  likeliestToFail,
  MAX_WEIGHT,
  preferring,
} from '../../src/kademlia/failure-model.js';
import { asNodeId } from '../../src/kademlia/id.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import type { Address } from '../../src/transport/address.js';
import { SeededRandom } from '../../src/util/random.js';

// Public addresses, one /24 each, so the table's diversity limits never interfere.
const at = (i: number): Address => ({ host: `1.${(i >> 8) & 255}.${i & 255}.4`, port: 6881, family: 4 });

/**
 * A population: contacts 0..n/2-1 steady (fail 5% of queries), the rest flaky (fail 70%). Rounds
 * of one query each, a second apart, in a seeded order.
 */
function train(model: FailureModel, seed: number, n = 200, rounds = 20): void {
  const random = new SeededRandom(seed);
  let now = 0;
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < n; j++) {
      const i = random.int(n);
      const failP = i < n / 2 ? 0.05 : 0.7;
      now += 1_000;
      if (random.float() < failP) model.timedOut(at(i), now);
      else model.answered(at(i), now);
    }
  }
}

function meanP(model: FailureModel, from: number, to: number, now: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += model.failureOf(at(i), now) ?? Number.NaN;
  return sum / (to - from);
}

describe('failure model', () => {
  it('learns which contacts fail: flaky ones score high, steady ones low, beating the base rate', () => {
    const model = new FailureModel();
    train(model, 1);
    const now = 200 * 20 * 1_000;
    const steady = meanP(model, 0, 100, now);
    const flaky = meanP(model, 100, 200, now);
    assert.ok(steady < 0.2, `steady contacts predicted to fail ${steady.toFixed(3)}`);
    assert.ok(flaky > 0.5, `flaky contacts predicted to fail ${flaky.toFixed(3)}`);
    const s = model.stats();
    assert.equal(s.outcomes, 200 * 20);
    assert.ok(
      s.logLoss < s.baseLogLoss,
      `log loss ${s.logLoss.toFixed(3)} should beat the running failure rate's ${s.baseLogLoss.toFixed(3)}`,
    );
  });

  it('learns against its prior: where timeouts mean nothing, a timeout stops predicting failure', () => {
    // Every contact fails one query in ten at random, independent of its past: after training, a
    // contact that just timed out must not be predicted much likelier to fail than one that answered.
    const model = new FailureModel();
    const random = new SeededRandom(3);
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      now += 100;
      const i = random.int(100);
      if (random.float() < 0.1) model.timedOut(at(i), now);
      else model.answered(at(i), now);
    }
    model.answered(at(500), now);
    model.answered(at(500), now);
    model.answered(at(501), now);
    model.timedOut(at(501), now);
    const answered = model.failureOf(at(500), now) as number;
    const timedOut = model.failureOf(at(501), now) as number;
    const fresh = new FailureModel();
    fresh.answered(at(501), 0);
    fresh.timedOut(at(501), 0);
    assert.ok(timedOut < 0.3, `after training, one timeout predicts ${timedOut.toFixed(3)}`);
    assert.ok(
      (fresh.failureOf(at(501), 0) as number) > timedOut,
      'the untrained prior thought a timeout said more than the data does',
    );
    assert.ok(Math.abs(timedOut - answered) < 0.2, `${timedOut.toFixed(3)} vs ${answered.toFixed(3)}`);
  });

  it('is deterministic: the same outcomes in the same order give the same weights', () => {
    const a = new FailureModel();
    const b = new FailureModel();
    train(a, 7);
    train(b, 7);
    assert.deepEqual(a.weightsNow, b.weightsNow);
    const c = new FailureModel();
    train(c, 8);
    assert.notDeepEqual(a.weightsNow, c.weightsNow, 'other outcomes, other weights');
  });

  it('keeps at most max records, dropping the least recently touched first', () => {
    const model = new FailureModel(16);
    for (let i = 0; i < 100; i++) model.answered(at(i), i);
    assert.equal(model.size, 16);
    assert.equal(model.failureOf(at(0), 100), undefined, 'a stranger has no prediction');
    assert.notEqual(model.failureOf(at(99), 100), undefined);
    model.answered(at(84), 101); // touched: now the newest
    model.answered(at(1000), 102); // pushes out at(85), the oldest now
    assert.notEqual(model.failureOf(at(84), 103), undefined);
    assert.equal(model.failureOf(at(85), 103), undefined);
  });

  it('keeps its weights bounded and its predictions finite under a one-sided stream', () => {
    const model = new FailureModel();
    for (let i = 0; i < 50_000; i++) model.timedOut(at(i % 7), i);
    for (const w of model.weightsNow) assert.ok(Math.abs(w) <= MAX_WEIGHT, `weight ${w}`);
    const p = model.failureOf(at(3), 50_000) as number;
    assert.ok(p > 0.9 && p <= 1, `p ${p}`);
  });

  it('uses RTTs only from numbers that make sense', () => {
    const model = new FailureModel();
    model.rtt(at(1), Number.NaN, 0);
    model.rtt(at(1), -5, 0);
    assert.equal(model.size, 0, 'nonsense RTTs make no record');
    model.rtt(at(1), 40, 0);
    assert.equal(model.size, 1);
  });
});

describe('failure model helpers', () => {
  it('likeliestToFail picks the highest probability at or above the floor', () => {
    const p = new Map([
      ['a', 0.2],
      ['b', 0.7],
      ['c', 0.6],
    ]);
    assert.equal(
      likeliestToFail(['a', 'b', 'c', 'd'], (m) => p.get(m), 0.5),
      'b',
    );
    assert.equal(
      likeliestToFail(['a', 'd'], (m) => p.get(m), 0.5),
      undefined,
    );
    assert.equal(
      likeliestToFail(['d', 'a'], (m) => p.get(m), 0),
      'a',
    );
  });

  it('preferring puts accepted ones first and still fills n', () => {
    assert.deepEqual(
      preferring([1, 2, 3, 4, 5, 6], 3, (m) => m % 2 === 0),
      [2, 4, 6],
    );
    assert.deepEqual(
      preferring([1, 2, 3, 4], 3, (m) => m === 4),
      [4, 1, 2],
    );
  });
});

describe('routing table with failureOf (predict-failures)', () => {
  const local = new Uint8Array(20);
  local[0] = 0x80;
  const contact = (i: number): Contact => {
    const id = new Uint8Array(20);
    id[0] = i; // all in bucket 0 (first bit differs from ours)
    return { id: asNodeId(id), address: at(i) };
  };

  it('a full bucket evicts its likeliest-to-fail member for an answered newcomer', () => {
    const p = new Map([
      [at(1).host, 0.1],
      [at(2).host, EVICT_FAILURE_P + 0.2],
    ]);
    const table = new RoutingTable(asNodeId(local), { k: 2, failureOf: (a) => p.get(a.host) });
    table.observe(contact(1), true, 0);
    table.observe(contact(2), true, 0);
    const r = table.observe(contact(3), true, 0);
    assert.equal(r.action === 'added' ? r.replaced?.address.host : r.action, at(2).host);
    assert.deepEqual([...table.nodes()].map((n) => n.address.host).sort(), [at(1).host, at(3).host]);
    // A newcomer that only queried us replaces nobody, however likely a member is to fail.
    p.set(at(1).host, 0.99);
    assert.equal(table.observe(contact(4), false, 0).action, 'rejected');
  });

  it('below the eviction floor, the likeliest-to-fail questionable member is pinged, not the stalest', () => {
    const p = new Map([
      [at(1).host, 0.1],
      [at(2).host, 0.4],
    ]);
    const make = (failureOf?: (a: Address) => number | undefined): RoutingTable => {
      const table = new RoutingTable(asNodeId(local), { k: 2, ...(failureOf ? { failureOf } : {}) });
      table.observe(contact(1), false, 0); // queried us only: questionable, stalest
      table.observe(contact(2), false, 10);
      return table;
    };
    const lrs = make().observe(contact(3), true, 20);
    assert.equal(
      lrs.action === 'cached' ? lrs.ping?.address.host : lrs.action,
      at(1).host,
      'BEP 5: the stalest',
    );
    const predicted = make((a) => p.get(a.host)).observe(contact(3), true, 20);
    assert.equal(predicted.action === 'cached' ? predicted.ping?.address.host : predicted.action, at(2).host);
  });

  it('hands out likely-alive contacts first from the 2n nearest', () => {
    const p = new Map([[at(0x10).host, 0.9]]);
    const build = (failureOf?: (a: Address) => number | undefined): RoutingTable => {
      const table = new RoutingTable(asNodeId(local), { k: 8, ...(failureOf ? { failureOf } : {}) });
      for (const i of [0x10, 0x11, 0x12, 0x13]) table.observe(contact(i), true, 0);
      return table;
    };
    const target = contact(0x10).id;
    const plain = build()
      .closest(target, 2)
      .map((n) => n.address.host);
    assert.deepEqual(plain, [at(0x10).host, at(0x11).host]);
    const predicted = build((a) => p.get(a.host))
      .closest(target, 2)
      .map((n) => n.address.host);
    assert.deepEqual(predicted, [at(0x11).host, at(0x12).host], 'the nearest, likely to fail, waits');
    const all = build((a) => p.get(a.host))
      .closest(target, 4)
      .map((n) => n.address.host);
    assert.equal(all.length, 4, 'still n contacts when only risky ones are left to fill');
  });
});
