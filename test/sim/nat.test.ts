// The nat scenario on a small network: without punching NATed announcers are mostly unreachable;
// punching reaches every pair theory allows and none it rules out; relay nodes reach the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimResult } from '../../src/sim/runner.js';
import { simulate } from '../../src/sim/simulate.js';

const BASE = {
  nodes: 120,
  seed: 3,
  scenario: 'nat',
  lookups: 80,
  build: 'fast',
  natFraction: 0.5,
  symmetricFraction: 0.35,
} as const;
/** Pairs (getter>announcer) punching cannot open: no port prediction towards or from symmetric. */
const RULED_OUT = new Set(['port-restricted>symmetric', 'symmetric>port-restricted', 'symmetric>symmetric']);

function byPair(r: SimResult) {
  const pairs = r.connect?.pairs ?? {};
  const sum = (pred: (k: string) => boolean) => {
    let count = 0;
    let ok = 0;
    for (const [k, p] of Object.entries(pairs))
      if (pred(k)) {
        count += p.count;
        ok += p.ok;
      }
    return { count, ok };
  };
  return {
    toOpen: sum((k) => k.endsWith('>open')),
    toNatted: sum((k) => !k.endsWith('>open')),
    allowed: sum((k) => !RULED_OUT.has(k)),
    ruledOut: sum((k) => RULED_OUT.has(k)),
  };
}

describe('simulator: connecting to announced peers behind NAT', () => {
  it('punching reaches what theory allows, relay nodes the rest; plain pings reach open peers only', async () => {
    const off = byPair(await simulate({ ...BASE, punch: false }));
    const on = byPair(await simulate({ ...BASE, punch: true }));
    const relayed = await simulate({ ...BASE, punch: true, relay: true });
    const rel = byPair(relayed);
    assert.ok(off.toNatted.count >= 20 && on.ruledOut.count >= 5, JSON.stringify({ off, on }));
    assert.equal(off.toOpen.ok, off.toOpen.count, 'open announcers answer a plain ping');
    assert.ok(off.toNatted.ok < off.toNatted.count / 2, `without punching ${JSON.stringify(off.toNatted)}`);
    assert.equal(on.allowed.ok, on.allowed.count, 'punching reaches every pair theory allows');
    assert.equal(on.ruledOut.ok, 0, 'and none it rules out (a leaky NAT model would show here)');
    assert.equal(
      rel.allowed.ok + rel.ruledOut.ok,
      rel.allowed.count + rel.ruledOut.count,
      'relays reach the rest',
    );
    // Punching never opens a ruled-out pair; a relay does, or a mapping the announcer's NAT
    // already holds towards the getter from their DHT traffic (wide buckets put more pairs in
    // touch), through which a plain "direct" ping passes, as it would on a real NAT.
    for (const [pair, p] of Object.entries(relayed.connect?.pairs ?? {}))
      if (RULED_OUT.has(pair))
        for (const t of Object.keys(p.by))
          assert.ok(t === 'relayed' || t === 'direct', `${pair} reached by ${t}`);
    assert.ok((relayed.connect?.techniques.relayed ?? 0) >= 5, 'the relays did the work');
  });
});
