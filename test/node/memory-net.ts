// A network of kadmium nodes on the in-memory transport and virtual time, for node-level tests
// that need many distinct (public-looking) IPs: BEP 42 voting, BEP 33 counts by IP.
import { Dht, type DhtOptions } from '../../src/node/dht.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';

export class MemoryDhtNet {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly net: MemoryNetwork;
  readonly nodes: Dht[] = [];

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
    this.net = new MemoryNetwork({ clock: this.clock, random: this.random, latencyMs: () => 5 });
  }

  /** A node at host (v4 text, or v4 and v6 for dual stack); not yet listening. */
  add(host: string, options: Partial<DhtOptions> = {}, host6?: string): Dht {
    const dht = new Dht({
      transport: this.net.createTransport(host),
      transport6: host6 ? this.net.createTransport(host6) : undefined,
      clock: this.clock,
      random: this.random,
      bootstrap: false,
      ...options,
    });
    this.nodes.push(dht);
    return dht;
  }

  /** Advance virtual time until p settles (bounded: fails after maxMs of virtual time). */
  async settle<T>(p: Promise<T>, maxMs = 180_000): Promise<T> {
    let done = false;
    let value: T | undefined;
    let error: unknown;
    p.then(
      (v) => {
        done = true;
        value = v;
      },
      (e: unknown) => {
        done = true;
        error = e;
      },
    );
    for (let t = 0; !done && t < maxMs; t += 20) await this.clock.advance(20);
    if (!done) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
    if (error !== undefined) throw error;
    return value as T;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}

/**
 * `size` nodes on an in-memory network with 5-25 ms links, on virtual time, each joined through
 * the first; `optionsFor(i)` adds node i's options. For tests of one node's behaviour among peers.
 */
export async function joinedNetwork(
  size: number,
  seed: number,
  optionsFor: (i: number) => Partial<DhtOptions> = () => ({}),
): Promise<{ clock: VirtualClock; net: MemoryNetwork; nodes: Dht[] }> {
  const clock = new VirtualClock();
  const random = new SeededRandom(seed);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => 5 + random.float() * 20 });
  const nodes: Dht[] = [];
  for (let i = 0; i < size; i++) {
    const transport = net.createTransport();
    const bootstrap = i === 0 ? false : [`${nodes[0]!.address.host}:${nodes[0]!.address.port}`];
    const dht = new Dht({ transport, clock, random: random.fork(), bootstrap, ...optionsFor(i) });
    nodes.push(dht);
    if (i === 0) await dht.listen();
    else await clock.run(dht.start());
  }
  return { clock, net, nodes };
}
