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
