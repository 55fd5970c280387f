import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { InvalidArgumentError } from '../../src/util/errors.js';
import { SeededRandom } from '../../src/util/random.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const open: OverlayNode[] = [];
after(async () => {
  await Promise.all(open.map((n) => n.close()));
});

/** An overlay of `size` nodes on virtual time, one-way delays of 10-50 ms. */
async function overlay(size: number, seed: number, latency: readonly string[]) {
  const clock = new VirtualClock(1_700_000_000_000);
  const random = new SeededRandom(seed);
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10 + random.int(40) });
  const nodes: OverlayNode[] = [];
  for (let i = 0; i < size; i++) {
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const first = nodes[0];
    const node = new OverlayNode({
      identity,
      transport: net.listen(identity.publicKey, { host: `10.1.0.${i}`, port: 7000, family: 4 }),
      clock,
      random,
      latency,
      bootstrap: first ? [{ publicKey: first.publicKey, address: first.address }] : [],
    });
    nodes.push(node);
    open.push(node);
    const joined = await clock.run(node.start());
    assert.ok(joined.ok, joined.message);
  }
  return { clock, nodes };
}

describe('overlay latency techniques', () => {
  it('refuses a Mainline-only technique with a message naming the overlay ones', () => {
    const random = new SeededRandom(1);
    const clock = new VirtualClock();
    const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const net = new MemoryStreamNetwork({ clock });
    const transport = net.listen(identity.publicKey, { host: '10.1.1.1', port: 7000, family: 4 });
    assert.throws(
      () => new OverlayNode({ identity, transport, clock, random, latency: ['path-cache'] }),
      (err: unknown) =>
        err instanceof InvalidArgumentError && /converged-width, adaptive-timeouts, pns/.test(err.message),
    );
  });

  it('measures RTTs on its connections and reports the time to the first verified item', async () => {
    const { clock, nodes } = await overlay(24, 2, ['converged-width', 'adaptive-timeouts', 'pns']);
    const publisher = nodes[5] as OverlayNode;
    const reader = nodes[17] as OverlayNode;
    await clock.run(publisher.put(text('v'), { salt: text('rtt') }));
    const gets: { durationMs: number; firstMs?: number }[] = [];
    reader.events.on('overlay:get', (e) => gets.push(e));
    const got = await clock.run(reader.get(publisher.publicKey, { salt: text('rtt') }));
    assert.equal(got?.item.v.length, 1);
    const [get] = gets;
    assert.ok(get?.firstMs !== undefined, 'a found item has a time to first');
    assert.ok(
      get.firstMs > 0 && get.firstMs <= get.durationMs,
      `first ${get.firstMs}, end ${get.durationMs}`,
    );
    // Every request's round trip is two one-way delays of 10-50 ms on this network.
    assert.ok(reader.latency.rtt.size >= 5, `${reader.latency.rtt.size} addresses measured`);
    const srtt = reader.latency.rtt.srtt(publisher.address) ?? reader.latency.rtt.srtt(nodes[0]!.address);
    assert.ok(srtt !== undefined && srtt >= 20 && srtt <= 100, `srtt ${srtt}`);
  });

  it('with adaptive timeouts, a get does not wait for nodes that never answer', async () => {
    const duration = async (latency: readonly string[]): Promise<number> => {
      const { clock, nodes } = await overlay(30, 3, latency);
      const publisher = nodes[4] as OverlayNode;
      await clock.run(publisher.put(text('v'), { salt: text('hole') }));
      // Six nodes turn into black holes: they take requests and never answer.
      for (const hole of nodes.slice(10, 16)) hole.rpc.onRequest(() => new Promise<never>(() => undefined));
      const reader = nodes[25] as OverlayNode;
      const started = clock.now();
      const got = await clock.run(reader.get(publisher.publicKey, { salt: text('hole') }));
      assert.ok(got, 'the item is still found');
      return clock.now() - started;
    };
    const fixed = await duration(['converged-width']);
    const adaptive = await duration(['converged-width', 'adaptive-timeouts']);
    // Without them a query holds its slot for the whole request timeout (5 s).
    assert.ok(fixed >= 5_000, `fixed timeouts: ${fixed} ms`);
    assert.ok(adaptive < 2_500, `adaptive timeouts: ${adaptive} ms`);
  });
});
