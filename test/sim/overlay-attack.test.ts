import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { itemTarget } from '../../src/protocols/overlay/item.js';
import { grindNear, sharedPrefixBits } from '../../src/sim/overlay-adversary.js';
import { simulateOverlay } from '../../src/sim/overlay-sim.js';
import { SeededRandom } from '../../src/util/random.js';
import { sha256 } from '../../src/util/sha256.js';

// Small networks (150 nodes, fast build, one virtual minute): seconds each.
const base = {
  nodes: 150,
  seed: 3,
  items: 20,
  natFraction: 0.2,
  churn: 0,
  minutes: 1,
  build: 'fast' as const,
};

describe('overlay adversaries', () => {
  it('an eclipse of most nodes defeats one path; at 30 % four disjoint paths still read every item', async () => {
    const crushed = await simulateOverlay({
      ...base,
      paths: 1,
      adversary: 'eclipse',
      adversaryFraction: 0.9,
    });
    assert.equal(crushed.adversaries?.count, 135);
    assert.ok(crushed.gets.successRate < 0.6, `90 % colluders, one path: ${crushed.gets.ok}/20`);
    const held = await simulateOverlay({ ...base, paths: 4, adversary: 'eclipse', adversaryFraction: 0.3 });
    assert.equal(held.gets.ok, 20);
  });

  it('storage adversaries serve forged items that readers refuse, and the genuine one still wins', async () => {
    const report = await simulateOverlay({ ...base, paths: 1, adversary: 'storage', adversaryFraction: 0.3 });
    assert.ok(report.gets.lies > 0, 'no forged item reached a reader');
    assert.equal(report.gets.ok, 20);
  });

  it('fake contacts cost readers messages (dead dials) but not the value', async () => {
    const clean = await simulateOverlay({ ...base, paths: 1 });
    const fake = await simulateOverlay({ ...base, paths: 1, adversary: 'fake', adversaryFraction: 0.3 });
    assert.ok(
      fake.lookups.medianMessages > clean.lookups.medianMessages,
      `${fake.lookups.medianMessages} vs ${clean.lookups.medianMessages} messages`,
    );
    assert.ok(fake.gets.successRate >= 0.9, `${fake.gets.ok}/20`);
  });

  it('more ground ids than k around one item take it over; a few do not', async () => {
    const few = await simulateOverlay({ ...base, paths: 1, adversary: 'targeted', adversaryFraction: 0.02 });
    const many = await simulateOverlay({ ...base, paths: 1, adversary: 'targeted', adversaryFraction: 0.2 });
    assert.equal(few.adversaries?.count, 3);
    assert.equal(many.adversaries?.count, 30);
    assert.equal(few.gets.ok, 20, 'three placed ids are fewer than k = 20 replicas');
    assert.equal(many.gets.ok, 0, '30 placed ids own the k closest slots');
    // Each placed id costs about 2^bits keys: 9 bits at 150 nodes.
    assert.equal(many.adversaries?.grindBits, 9);
    assert.ok((many.adversaries?.grindTries ?? 0) > 30 * 2 ** 9 * 0.5);
  });

  it('a node that joins through one adversary is eclipsed; three bootstrap contacts let it read', async () => {
    // Half the network replaced while 30 % collude: the gets read by the newcomers tell.
    const churned = {
      ...base,
      items: 30,
      churn: 0.5,
      minutes: 10,
      paths: 4,
      adversary: 'eclipse' as const,
      adversaryFraction: 0.3,
    };
    const one = await simulateOverlay(churned);
    const three = await simulateOverlay({ ...churned, joinContacts: 3 });
    assert.ok(one.gets.byJoiners.total >= 5, `${one.gets.byJoiners.total} gets by newcomers`);
    assert.ok(
      one.gets.byJoiners.ok < one.gets.byJoiners.total,
      `one bootstrap contact: newcomers read ${one.gets.byJoiners.ok}/${one.gets.byJoiners.total}`,
    );
    assert.equal(
      three.gets.byJoiners.ok,
      three.gets.byJoiners.total,
      `three bootstrap contacts: newcomers read ${three.gets.byJoiners.ok}/${three.gets.byJoiners.total}`,
    );
    // The nodes of the build read everything either way: the loss is the newcomers'.
    const old = (r: typeof one): number => r.gets.ok - r.gets.byJoiners.ok;
    assert.equal(old(one), one.gets.total - one.gets.byJoiners.total);
    assert.equal(old(three), three.gets.total - three.gets.byJoiners.total);
  });

  it('a ground key shares the asked prefix with the target', () => {
    const target = itemTarget(new Uint8Array(33).fill(2), new TextEncoder().encode('x'));
    const { identity, tries } = grindNear(target, 8, new SeededRandom(5));
    assert.ok(sharedPrefixBits(sha256(identity.publicKey), target) >= 8);
    assert.ok(tries >= 1);
    assert.equal(sharedPrefixBits(Uint8Array.of(0x80, 0), Uint8Array.of(0x80, 0x40)), 9);
  });
});
