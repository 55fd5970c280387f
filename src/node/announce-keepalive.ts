/**
 * Keep a NATed announcer punchable. A rendezvous introduces only addresses that queried it in the
 * last 25 s (punch.ts), and a NAT forgets an idle UDP mapping (Linux: 30 s unreplied, 120 s after
 * a reply), after which the storing node's introduction no longer gets in. So an announcer behind
 * a restricting NAT pings the nodes that took its announce every ANNOUNCE_KEEPALIVE_MS, for as long
 * as they hold the announce, at most KEEPALIVE_TARGETS of them.
 */
import type { Address } from '../transport/address.js';
import { addressKey } from '../transport/address.js';
import { type Clock, every, type Timer } from '../util/clock.js';
import type { FeatureBreakers } from './feature-breakers.js';

/** Its name in the feature breakers, events and status. */
export const KEEPALIVE_FEATURE = 'announce-keepalive';
/** Below both the 25 s introduction window and the shortest common UDP mapping timeout (30 s). */
export const ANNOUNCE_KEEPALIVE_MS = 20_000;
/** Storing nodes kept alive; the most recent announces' win. */
export const KEEPALIVE_TARGETS = 16;
/** How long after an announce its storing nodes are kept alive: a stored peer lives 30 min. */
export const KEEPALIVE_FOR_MS = 30 * 60_000;

export class AnnounceKeepAlive {
  private readonly targets = new Map<string, { address: Address; untilMs: number }>();
  private timer: Timer | undefined;
  /** Keep-alive pings sent. */
  sent = 0;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly ping: (address: Address) => Promise<unknown>,
    /** Whether the node needs it now (behind a restricting NAT, or forced on). */
    private readonly active: () => boolean,
    /** A tick that throws switches the keep-alive off for a while instead of crashing the timer. */
    private readonly breakers?: FeatureBreakers,
  ) {}

  get size(): number {
    return this.targets.size;
  }

  /** Nodes that just took an announce. */
  remember(addresses: readonly Address[]): void {
    const untilMs = this.clock.now() + KEEPALIVE_FOR_MS;
    for (const address of addresses) {
      const key = addressKey(address);
      this.targets.delete(key);
      this.targets.set(key, { address, untilMs });
    }
    while (this.targets.size > KEEPALIVE_TARGETS)
      this.targets.delete(this.targets.keys().next().value as string);
    if (!this.timer && this.targets.size > 0)
      this.timer = every(this.clock, this.intervalMs, () =>
        this.breakers ? this.breakers.run(KEEPALIVE_FEATURE, () => this.tick(), undefined) : this.tick(),
      );
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.targets.clear();
  }

  private tick(): void {
    const now = this.clock.now();
    for (const [key, t] of this.targets) if (t.untilMs <= now) this.targets.delete(key);
    if (this.targets.size === 0) {
      this.timer?.cancel();
      this.timer = undefined;
      return;
    }
    if (!this.active()) return;
    for (const { address } of this.targets.values()) {
      this.sent++;
      // A lost ping is harmless: the next one comes an interval later.
      this.ping(address).catch(() => undefined);
    }
  }
}

/** `'auto'`: only behind a NAT that filters (a full cone or open node is reachable anyway). */
export function keepAliveWanted(setting: boolean | 'auto', nat: { kind: string } | undefined): boolean {
  if (setting !== 'auto') return setting;
  return nat?.kind === 'address-restricted' || nat?.kind === 'port-restricted' || nat?.kind === 'symmetric';
}
