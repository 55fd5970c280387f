import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { fingerprint, simulate } from '../../src/sim/simulate.js';
import type { SimOptions } from '../../src/sim/runner.js';

// Lookups on one node share its shutdown signal: a dozen listeners at once is normal here.
EventEmitter.defaultMaxListeners = 256;

const base = { nodes: 1000, seed: 21, lookups: 100, build: 'fast' as const };

async function run(o: Partial<SimOptions> & Pick<SimOptions, 'scenario'>) {
  const r = await simulate({ ...base, ...o });
  const phase = r.phases[0];
  assert.ok(phase, 'the scenario ran a phase');
  return { r, success: phase.lookups.successRate, queries: phase.lookups.queries.mean };
}

describe('adversaries in the simulator', () => {
  // 50 %: the wider the buckets, the less a single path suffers. With wide far buckets a single
  // path resisted 30 % (96 % success, 79 % without them) and suffered at 40 % (91 %); with deep
  // buckets (the default now) it resists 40 % too (96 %) and suffers at 50 % (90 %).
  it('eclipse at 50 %: d = 4 disjoint paths beat the single path, at a stated cost in messages', async () => {
    const one = await run({ scenario: 'lookup', adversary: 'eclipse', adversaryFraction: 0.5 });
    const four = await run({
      scenario: 'lookup',
      adversary: 'eclipse',
      adversaryFraction: 0.5,
      lookupPaths: 4,
    });
    assert.equal(one.r.adversaries?.count, 498, 'the fraction of the 997 non-router nodes, spread evenly');
    assert.ok(one.success < 0.95, `a single path should suffer: ${one.success}; ${one.r.replay}`);
    assert.ok(four.success >= 0.99, `d = 4: ${four.success}; ${four.r.replay}`);
    assert.ok(four.queries > one.queries * 2, `d = 4 costs more messages: ${four.queries} vs ${one.queries}`);
  });

  it('an adversary run replays exactly from its seed', async () => {
    const o = {
      scenario: 'lookup',
      adversary: 'fake',
      adversaryFraction: 0.2,
      lookupPaths: 2,
      reputation: true,
      lookups: 40,
    } as const;
    const a = await simulate({ ...base, ...o, nodes: 500 });
    const b = await simulate({ ...base, ...o, nodes: 500 });
    assert.equal(fingerprint(a), fingerprint(b), a.replay);
  });

  it('reputation catches liars: forged BEP 44 values and referrals to contacts that do not exist', async () => {
    const storage = await run({
      scenario: 'items',
      adversary: 'storage',
      adversaryFraction: 0.3,
      reputation: true,
    });
    assert.ok((storage.r.adversaries?.distrusted ?? 0) > 0, `forged values seen: ${storage.r.replay}`);
    assert.ok(storage.success >= 0.99, `${storage.success}; ${storage.r.replay}`);
    const fake = await run({
      scenario: 'lookup',
      adversary: 'fake',
      adversaryFraction: 0.3,
      reputation: true,
    });
    assert.ok((fake.r.adversaries?.distrusted ?? 0) > 0, `dead referrals seen: ${fake.r.replay}`);
    const off = await run({ scenario: 'lookup', adversary: 'fake', adversaryFraction: 0.3 });
    assert.equal(off.r.adversaries?.distrusted, 0, 'with reputation off nobody is distrusted');
  });

  it('reputation distrusts nobody in an attack-free run (no false positives)', async () => {
    const clean = await run({
      scenario: 'items',
      adversary: 'storage',
      adversaryFraction: 0,
      reputation: true,
      lookupPaths: 4,
    });
    assert.equal(clean.r.adversaries?.count, 0);
    assert.equal(clean.r.adversaries?.distrusted, 0, clean.r.replay);
    assert.ok(clean.success >= 0.99, `${clean.success}; ${clean.r.replay}`);
  });

  it('a targeted eclipse of one item wins on random ids and loses to BEP 42 ids', async () => {
    const o = { scenario: 'items', adversary: 'targeted', adversaryFraction: 0.01 } as const;
    const open = await run(o);
    const bep42 = await run({ ...o, secureIds: true });
    assert.equal(open.r.adversaries?.count, 9);
    assert.ok(open.success <= 0.05, `ids chosen at will capture the item: ${open.success}; ${open.r.replay}`);
    assert.ok(bep42.success >= 0.99, `ids tied to IPs cannot crowd it: ${bep42.success}; ${bep42.r.replay}`);
  });
  it('an announce flood fills popular swarms with fake peers, but not past their bound, and honest get_peers keep working', async () => {
    const o = {
      scenario: 'lookup',
      nodes: 200,
      lookups: 300,
      adversary: 'announce-flood',
      adversaryFraction: 0.2,
    } as const;
    const guarded = await run(o);
    const open = await run({ ...o, tokenReplay: false });
    const g = guarded.r.adversaries?.flood;
    const u = open.r.adversaries?.flood;
    assert.ok(g && u, 'flood outcome reported');
    assert.ok(g.sent > 1000 && g.accepted > 0, `the flooders flooded: ${JSON.stringify(g)}`);
    // The replay guard: a token announces 4 ports per infohash, then the target refuses it.
    assert.ok(
      g.refused > 0 && u.refused === 0,
      `refused with / without the guard: ${g.refused} / ${u.refused}`,
    );
    assert.ok(u.accepted > 2 * g.accepted, `the guard cut what got in: ${u.accepted} vs ${g.accepted}`);
    // The per-infohash bound (200 peers, stalest first out) holds either way.
    assert.ok(u.swarmMax <= 200 && g.swarmMax <= 200, `swarms ${g.swarmMax} / ${u.swarmMax}`);
    assert.ok(g.fakeShare > 0.2, `fake peers did get in: ${g.fakeShare}`);
    assert.ok(
      guarded.success >= 0.98,
      `honest get_peers under the flood: ${guarded.success}; ${guarded.r.replay}`,
    );
  });
});
