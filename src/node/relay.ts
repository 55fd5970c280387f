/**
 * The relay of last resort: a TURN allocation on the DHT's own socket. KRPC to and from peers
 * that reached us through the relayed address travels inside Send / Data indications, so the
 * Rpc above sees those peers as ordinary addresses (the SplitTransport routes them). Used when
 * punching must fail: symmetric NAT towards symmetric or port-restricted.
 */
import { TurnClient, type Allocation, type TurnCredentials } from '../protocols/stun/turn.js';
import type { StunClient } from '../protocols/stun/client.js';
import { type Address, addressKey } from '../transport/address.js';
import type { SplitTransport } from '../transport/split.js';
import type { Clock, Timer } from '../util/clock.js';

/** Peers reached through the relay, remembered for routing replies (the oldest is forgotten). */
export const MAX_RELAYED_PEERS = 256;
/** Refresh the allocation when this share of its lifetime has passed. */
const REFRESH_AT = 0.5;
/** TURN permissions expire after 300 s (RFC 5766 §8, not negotiable): renew them this often. */
export const TURN_PERMISSION_REFRESH_MS = 240_000;

export class NodeRelay {
  private turn: TurnClient | undefined;
  private readonly peers = new Map<string, Address>();
  private refreshTimer: Timer | undefined;
  private permissionTimer: Timer | undefined;
  /** Datagrams relayed each way, for stats. */
  sent = 0;
  received = 0;

  constructor(
    split: SplitTransport,
    private readonly stun: StunClient,
    private readonly clock: Clock,
    private readonly shutdown: AbortSignal,
    private readonly onProblem: (message: string) => void,
  ) {
    stun.onIndication((msg) => {
      const d = TurnClient.dataOf(msg);
      if (!d || !this.turn) return;
      this.remember(d.peer);
      this.received++;
      split.deliver(d.data, d.peer);
    });
    split.route = (data, to) => {
      if (!this.turn || !this.peers.has(addressKey(to))) return false;
      this.sent++;
      this.turn.send(to, data);
      return true;
    };
  }

  get allocation(): Allocation | undefined {
    return this.turn?.allocation;
  }

  async allocate(server: Address, credentials: TurnCredentials): Promise<Allocation> {
    const turn = new TurnClient(this.stun, server, credentials, this.shutdown);
    const allocation = await turn.allocate();
    this.turn = turn;
    this.scheduleRefresh(allocation.lifetimeS);
    this.schedulePermissions();
    return allocation;
  }

  /** Let `peer`'s IP reach us through the relay. */
  async permit(peer: Address): Promise<void> {
    await this.turn?.permit(peer);
  }

  /** True when datagrams to `peer` go through the relay. */
  carries(peer: Address): boolean {
    return this.turn !== undefined && this.peers.has(addressKey(peer));
  }

  permitted(host: string): boolean {
    return this.turn?.permitted(host) ?? false;
  }

  close(): void {
    this.refreshTimer?.cancel();
    this.permissionTimer?.cancel();
    this.turn?.refresh(0).catch(() => undefined);
    this.turn = undefined;
  }

  private remember(peer: Address): void {
    const key = addressKey(peer);
    this.peers.delete(key);
    this.peers.set(key, peer);
    if (this.peers.size > MAX_RELAYED_PEERS) {
      const oldest = this.peers.keys().next().value;
      if (oldest !== undefined) this.peers.delete(oldest);
    }
  }

  /** Keep relayed peers' permissions alive: without it a relayed peer is cut off after 5 minutes. */
  private schedulePermissions(): void {
    this.permissionTimer?.cancel();
    this.permissionTimer = this.clock.setTimeout(() => {
      const turn = this.turn;
      if (!turn || this.shutdown.aborted) return;
      this.schedulePermissions();
      turn
        .renewPermissions()
        .catch((err: unknown) =>
          this.onProblem(`TURN permission refresh failed, relayed peers may be cut off: ${String(err)}`),
        );
    }, TURN_PERMISSION_REFRESH_MS);
  }

  private scheduleRefresh(lifetimeS: number): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = this.clock.setTimeout(
      () => {
        const turn = this.turn;
        if (!turn || this.shutdown.aborted) return;
        turn.refresh(lifetimeS).then(
          () => this.scheduleRefresh(lifetimeS),
          (err: unknown) =>
            this.onProblem(`TURN refresh failed, relayed peers will be cut off: ${String(err)}`),
        );
      },
      lifetimeS * 1000 * REFRESH_AT,
    );
  }
}
