/**
 * What the overlay simulators share: an in-memory stream network on virtual time whose delays
 * follow each address's site on the simulated internet, numbered addresses, and refresh phases
 * spread the way a running network has them.
 */
import { OVERLAY_REFRESH_MS, type OverlayNode } from '../node/overlay-node.js';
import type { Address } from '../transport/address.js';
import { MemoryStreamNetwork } from '../transport/stream/memory.js';
import { IDLE_CLOSE_MS } from '../transport/stream/tcp.js';
import type { Random } from '../util/random.js';
import { internetLatency, type Site } from './latency.js';
import type { VirtualClock } from './virtual-clock.js';

export class SimulatedOverlayNet {
  readonly net: MemoryStreamNetwork;
  private readonly latency = internetLatency();
  private readonly sites = new Map<string, Site>();
  /** Sites of the /24s placed with placeAt: one per subnet an attacker uses (bounded by the run). */
  private readonly subnetSites = new Map<string, Site>();

  /** `silentDialMs`: dials that find nobody fail after this long instead of one round trip. */
  constructor(
    clock: VirtualClock,
    private readonly random: Random,
    silentDialMs?: number,
  ) {
    this.net = new MemoryStreamNetwork({
      clock,
      ...(silentDialMs !== undefined ? { silentDialMs } : {}),
      // As the TCP pool does: a node holds connections to the peers it talks to now, not to all it ever asked.
      idleCloseMs: IDLE_CLOSE_MS,
      latencyMs: (from, to) => {
        const a = this.sites.get(keyOf(from));
        const b = this.sites.get(keyOf(to));
        return a && b ? this.latency.oneWayMs(a, b, random) : 50;
      },
    });
  }

  /** A chosen address (a Sybil's): every address of one /24 sits at one site. */
  placeAt(address: Address): Address {
    const subnet = address.host.slice(0, address.host.lastIndexOf('.'));
    let site = this.subnetSites.get(subnet);
    if (!site) {
      site = this.latency.site(this.random);
      this.subnetSites.set(subnet, site);
    }
    this.sites.set(keyOf(address), site);
    return address;
  }

  /** The n-th node's address (10.x.y.z:7000), placed at a random site. */
  place(n: number): Address {
    const address: Address = {
      host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      port: 7000,
      family: 4,
    };
    this.sites.set(keyOf(address), this.latency.site(this.random));
    return address;
  }
}

/**
 * Seeded tables were all filled at one instant, so every node would refresh every bucket in the
 * same upkeep tick 15 minutes later. A network that has been running has its refresh phases
 * spread evenly: give each bucket a last-touched time within the past refresh period.
 */
export function spreadRefreshPhases(nodes: readonly OverlayNode[], now: number, random: Random): void {
  for (const node of nodes) {
    for (let b = 0; b < node.table.bucketCount; b++) {
      node.table.touchBucket(b, now - random.int(OVERLAY_REFRESH_MS));
    }
  }
}

function keyOf(a: Address): string {
  return `${a.host}:${a.port}`;
}
