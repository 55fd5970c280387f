/**
 * `predict-failures` on the overlay node: the failure model (kademlia/failure-model.ts) learns
 * from the node's own queries (answers, refused dials) and the routing table consults it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { SeededRandom } from '../../src/util/random.js';

const NODES = 12;
/** Above what the prior gives a contact that answered minutes ago (about 0.05). */
const FAILED_IN_A_ROW_P = 0.3;

describe('overlay predict-failures', () => {
  it('feeds the failure model every answer and failed dial, and a departed contact is predicted likelier to fail', async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const random = new SeededRandom(3);
    const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(20) });
    const nodes: OverlayNode[] = [];
    try {
      for (let i = 0; i < NODES; i++) {
        const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
        const first = nodes[0];
        const node = new OverlayNode({
          identity,
          transport: net.listen(identity.publicKey, { host: `10.0.1.${i + 1}`, port: 7000, family: 4 }),
          clock,
          random,
          latency: ['adaptive-timeouts', 'predict-failures'],
          bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
        });
        nodes.push(node);
        await clock.run(node.start());
      }
      const reader = nodes[NODES - 1] as OverlayNode;
      const model = reader.latency.failures;
      assert.ok(model, 'predict-failures makes a model');
      assert.ok(model.size > 0, 'the joins fed it answers');
      const gone = nodes[2] as OverlayNode;
      const stays = nodes[3] as OverlayNode;
      assert.ok(reader.table.get(gone.id) && reader.table.get(stays.id), 'both known before');
      await gone.close();
      // Lookups reach the departed node (a 12-node network: every lookup asks everyone known).
      for (let i = 0; i < 3; i++) await clock.run(reader.refreshSelf());
      const pGone = model.failureOf(gone.address, clock.now()) ?? 0;
      const pStays = model.failureOf(stays.address, clock.now()) ?? 0;
      assert.ok(pGone > pStays, `departed ${pGone.toFixed(3)} against answering ${pStays.toFixed(3)}`);
      // Refused dials count as failures: after some in a row the model expects the next to fail
      // too (a contact only quiet for a while stays well under this).
      assert.ok(pGone > FAILED_IN_A_ROW_P, `the departed contact's refusals were fed: ${pGone.toFixed(3)}`);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('the overlay accepts the technique (overlayLatency refused it before)', () => {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random: new SeededRandom(1) });
    const clock = new VirtualClock(0);
    const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 });
    const node = new OverlayNode({
      identity,
      transport: net.listen(identity.publicKey, { host: '10.0.2.1', port: 7000, family: 4 }),
      clock,
      latency: ['predict-failures'],
    });
    assert.ok(node.latency.failures);
    void node.close();
  });
});
