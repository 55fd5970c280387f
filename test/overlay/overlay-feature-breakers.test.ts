/**
 * The overlay's optional work behind feature breakers (issue 15, item 7): a full node's reconcile
 * loop and its advert run on timers; a throw there was an unhandled rejection (the process ends).
 * Each test breaks the real feature through a prototype method it calls, checks the node keeps
 * answering, the feature is reported off (`overlay:feature`, stats().features), and it runs again
 * after the back-off on the virtual clock. Without the breaker each fails (the rejection escapes,
 * and nothing reports the feature off).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FEATURE_BACKOFF_MS, type FeatureChange } from '../../src/node/feature-breakers.js';
import {
  ADVERT_INTERVAL_MS,
  OVERLAY_ADVERT_FEATURE,
  OVERLAY_RECONCILE_FEATURE,
} from '../../src/node/overlay-adverts.js';
import { OVERLAY_RECONCILE_MS, type OverlayBootstrap, OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget } from '../../src/protocols/overlay/item.js';
import { OverlayStore } from '../../src/protocols/overlay/store.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import { breakMethod, repairLast, restoreMethods } from '../node/break-method.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `size` joined overlay nodes; the last is a full node with `extra` options. */
async function overlay(size: number, seed: number, extra: (first: OverlayNode) => object = () => ({})) {
  const clock = new VirtualClock(1_700_000_000_000);
  const random = new SeededRandom(seed);
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(40) });
  const nodes: OverlayNode[] = [];
  for (let i = 0; i < size; i++) {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const address = { host: `10.0.0.${i + 1}`, port: 7000, family: 4 as const };
    const first = nodes[0];
    const node = new OverlayNode({
      identity,
      transport: net.listen(identity.publicKey, address),
      clock,
      random,
      bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
      ...(i === size - 1 && first ? { fullNode: true, ...extra(first) } : {}),
    });
    nodes.push(node);
  }
  return { clock, nodes, close: () => Promise.all(nodes.map((n) => n.close())) };
}

const peerOf = (n: OverlayNode): OverlayBootstrap => ({ publicKey: n.publicKey, address: n.address });

/** Another node's direct GetValue to `node` is answered. */
async function stillAnswers(clock: VirtualClock, node: OverlayNode, asker: OverlayNode): Promise<void> {
  const target = itemTarget(asker.publicKey, text('probe'));
  const got = await clock.run(asker.getValueFrom(peerOf(node), target, { timeoutMs: 5_000 }));
  assert.equal(got, undefined, 'answered: it holds nothing there');
}

afterEach(restoreMethods);

describe('overlay feature breakers', () => {
  it('reconcile: a loop that throws is switched off, the full node serves on, and it reconciles again later', async () => {
    const t = await overlay(5, 21, (first) => ({ fullNodes: [peerOf(first)] }));
    const full = t.nodes.at(-1) as OverlayNode;
    const seen: FeatureChange[] = [];
    full.events.on('overlay:feature', (c) => seen.push(c));
    try {
      // The loop reads the adverts it holds first: a broken store read throws there.
      breakMethod(OverlayStore.prototype, 'getItems', 'item index corrupted');
      for (const node of t.nodes) assert.ok((await t.clock.run(node.start())).ok);
      await t.clock.advance(1_000);
      assert.equal(seen[0]?.feature, OVERLAY_RECONCILE_FEATURE);
      assert.equal(seen[0]?.state, 'off');
      assert.equal(full.stats().features[0]?.state, 'off');
      await stillAnswers(t.clock, full, t.nodes[1]!);
      repairLast();
      await t.clock.advance(Math.max(FEATURE_BACKOFF_MS, OVERLAY_RECONCILE_MS));
      assert.equal(seen.at(-1)?.state, 'on', 'the next round ran cleanly');
      assert.equal(full.stats().features[0]?.state, 'on');
    } finally {
      await t.close();
    }
  });

  it('advert: a publish that throws is switched off and tried again after the back-off', async () => {
    const t = await overlay(5, 22);
    const full = t.nodes.at(-1) as OverlayNode;
    try {
      for (const node of t.nodes) assert.ok((await t.clock.run(node.start())).ok);
      // A put that throws before it returns a promise: the advert's own catch never sees it.
      breakMethod(OverlayNode.prototype, 'put', 'signer unavailable');
      await t.clock.advance(ADVERT_INTERVAL_MS);
      const off = full.stats().features.find((f) => f.feature === OVERLAY_ADVERT_FEATURE);
      assert.equal(off?.state, 'off');
      assert.match(off?.lastError ?? '', /signer unavailable/);
      await stillAnswers(t.clock, full, t.nodes[2]!);
      repairLast();
      await t.clock.advance(Math.max(FEATURE_BACKOFF_MS, ADVERT_INTERVAL_MS));
      assert.equal(full.stats().features.find((f) => f.feature === OVERLAY_ADVERT_FEATURE)?.state, 'on');
      const advert = await t.clock.run(t.nodes[1]!.get(full.publicKey, { salt: text('fullnode') }));
      assert.ok(advert, 'the advert is published again');
    } finally {
      await t.close();
    }
  });
});
