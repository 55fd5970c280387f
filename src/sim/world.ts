/**
 * A simulated world: one virtual clock, one seeded random stream (forked per node), one network,
 * and the nodes on it. Nodes are the real `Dht` class on a simulated transport; the world only
 * creates, starts and stops them, and answers "who is really closest" for checking lookups.
 */
import { Dht, type DhtOptions } from '../node/dht.js';
import type { Handlers } from '../protocols/mainline/handlers/index.js';
import { secureNodeId } from '../protocols/mainline/secure-id.js';
import { addressKey } from '../transport/address.js';
import { SeededRandom } from '../util/random.js';
import type { LatencyModel } from './latency.js';
import type { SimNatType } from './nat-model.js';
import { type SimEndpoint, SimNetwork } from './network.js';
import { VirtualClock } from './virtual-clock.js';

/** XOR distance order of a and b to target (the architecture keeps sim off the kademlia layer). */
function closer(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const d = ((a[i] as number) ^ (target[i] as number)) - ((b[i] as number) ^ (target[i] as number));
    if (d !== 0) return d;
  }
  return 0;
}

export interface SimNode {
  /** Creation order, unique for the world's lifetime. */
  readonly index: number;
  readonly dht: Dht;
  readonly endpoint: SimEndpoint;
  readonly nat: boolean;
  /** The NAT in front of it (sim/nat-model.ts), when nat. */
  readonly natType: SimNatType | undefined;
  /** BEP 43 read-only (the daemon's private profile): it queries but answers nobody. */
  readonly readOnly: boolean;
  /** Virtual time it came online. */
  readonly joinedAt: number;
  alive: boolean;
  /** Joining in the background (a rotating node's successor): not picked for operations yet. */
  standby: boolean;
  /** An adversary (sim/adversary.ts): never picked for operations, never ground truth. */
  readonly hostile: boolean;
}

export interface WorldOptions {
  seed: number;
  /** Fraction of nodes behind a NAT (0..1). */
  natFraction?: number;
  /** Fraction of the NATed nodes behind a symmetric NAT (the rest port-restricted; default 0). */
  symmetricFraction?: number;
  /** Every honest node with a public address offers to relay (`relay: true`; default off). */
  relayNodes?: boolean;
  latency?: LatencyModel;
  lossRate?: number;
  duplicateRate?: number;
  /** Fraction of nodes that run read-only (BEP 43, the private profile), 0..1. */
  readOnlyFraction?: number;
  /** Options for every node (transport, clock, random and bootstrap are the world's). */
  dht?: Omit<DhtOptions, 'transport' | 'clock' | 'random' | 'bootstrap'>;
}

export class SimWorld {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  /** Live nodes, in no particular order (swap-remove). */
  readonly live: SimNode[] = [];
  private readonly position = new Map<SimNode, number>();
  private readonly byAddress = new Map<string, SimNode>();
  private created = 0;
  private readonly natFraction: number;
  /** The stream placement, ids and NAT decisions come from; nodes get forks of `random`. */
  private readonly placement: SeededRandom;
  /** Read-only decisions: a stream of their own, so a world without them replays as before. */
  private readonly readOnlyDraws: SeededRandom | undefined;
  /** NAT type decisions: their own stream too, so worlds without symmetric NATs replay as before. */
  private readonly natTypeDraws: SeededRandom | undefined;

  constructor(readonly options: WorldOptions) {
    this.random = new SeededRandom(options.seed);
    this.placement = this.random.fork();
    const networkOptions = {
      clock: this.clock,
      random: this.random.fork(),
      latency: options.latency,
      lossRate: options.lossRate,
      duplicateRate: options.duplicateRate,
    };
    this.network = new SimNetwork(networkOptions);
    this.natFraction = options.natFraction ?? 0;
    if ((options.readOnlyFraction ?? 0) > 0) this.readOnlyDraws = new SeededRandom(options.seed ^ 0x2ead0);
    if ((options.symmetricFraction ?? 0) > 0) this.natTypeDraws = new SeededRandom(options.seed ^ 0x5a7);
  }

  /** Create a node and start listening (it does not join yet). */
  addNode(
    opts: {
      bootstrap?: readonly string[] | false;
      /** Behind NAT (true: the world's draw of a type), or not. */
      nat?: boolean | SimNatType;
      id?: Uint8Array;
      readOnly?: boolean;
      standby?: boolean;
      /** A rotation's successor: the contacts to rejoin through and the stores it keeps. */
      carry?: Pick<DhtOptions, 'routingTable' | 'peerStore' | 'itemStore'>;
      /** An adversary: its hostile method table, and where it sits (a Sybil's shared /24). */
      hostile?: { handlers: Handlers; host?: string; port?: number };
      /** The id, chosen once the address is known (BEP 42 ids derive from it). */
      idFor?: (host: string) => Uint8Array;
    } = {},
  ): SimNode {
    const behind = opts.nat ?? (this.natFraction > 0 && this.placement.float() < this.natFraction);
    const natType: SimNatType | undefined =
      typeof behind === 'string' ? behind : behind ? this.drawNatType() : undefined;
    const nat = natType !== undefined;
    const readOnly =
      opts.readOnly ??
      (this.readOnlyDraws !== undefined && this.readOnlyDraws.float() < (this.options.readOnlyFraction ?? 0));
    const endpoint = this.network.createEndpoint({
      nat: natType ?? false,
      ...(opts.hostile?.host !== undefined ? { host: opts.hostile.host } : {}),
      ...(opts.hostile?.port !== undefined ? { port: opts.hostile.port } : {}),
    });
    const dht = new Dht({
      ...this.options.dht,
      ...opts.carry,
      id: opts.id ?? opts.idFor?.(endpoint.address.host) ?? this.newId(endpoint.address.host),
      transport: endpoint,
      clock: this.clock,
      random: this.random.fork(),
      bootstrap: opts.bootstrap ?? false,
      readOnly,
      ...(this.options.relayNodes && !nat && !opts.hostile ? { relay: true } : {}),
      ...(opts.hostile ? { handlers: opts.hostile.handlers } : {}),
    });
    const node: SimNode = {
      index: this.created++,
      dht,
      endpoint,
      nat,
      natType,
      readOnly,
      joinedAt: this.clock.now(),
      alive: true,
      standby: opts.standby ?? false,
      hostile: opts.hostile !== undefined,
    };
    void dht.listen();
    this.position.set(node, this.live.length);
    this.live.push(node);
    this.byAddress.set(addressKey(endpoint.address), node);
    return node;
  }

  /** Take a node offline for good: its socket closes, datagrams to it vanish. */
  async remove(node: SimNode): Promise<void> {
    if (!node.alive) return;
    node.alive = false;
    const i = this.position.get(node) as number;
    const last = this.live.pop() as SimNode;
    if (last !== node) {
      this.live[i] = last;
      this.position.set(last, i);
    }
    this.position.delete(node);
    this.byAddress.delete(addressKey(node.endpoint.address));
    await node.dht.close();
  }

  /** The targeted adversary's victim: the one item (and infohash) every operation uses. */
  victim: { target: Uint8Array; value: Uint8Array } | undefined;

  /**
   * Popular infohashes (the announce flood's run): get_peers operations announce and look up one
   * of these instead of a fresh random one, so the flooded swarms are the ones measured.
   */
  popular: readonly Uint8Array[] | undefined;

  /** A uniformly random live honest node (not on standby), optionally one that passes `accept` (bounded tries). */
  randomLive(accept?: (n: SimNode) => boolean): SimNode {
    if (this.live.length === 0) throw new Error('no live nodes');
    for (let tries = 0; tries < 1000; tries++) {
      const node = this.live[this.placement.int(this.live.length)] as SimNode;
      if (!node.standby && !node.hostile && (!accept || accept(node))) return node;
    }
    throw new Error('no live node matched after 1000 tries');
  }

  nodeAt(host: string, port: number): SimNode | undefined {
    return this.byAddress.get(`${host}:${port}`);
  }

  /** The n live nodes closest to target (that pass `accept`), nearest first. Linear scan. */
  closestLive(target: Uint8Array, n: number, accept?: (node: SimNode) => boolean): SimNode[] {
    const best: SimNode[] = [];
    for (const node of this.live) {
      if (accept && !accept(node)) continue;
      if (best.length === n && closer(target, node.dht.id, (best[n - 1] as SimNode).dht.id) >= 0) continue;
      let i = Math.min(best.length, n - 1);
      if (best.length < n) best.push(node);
      while (i > 0 && closer(target, node.dht.id, (best[i - 1] as SimNode).dht.id) < 0) {
        best[i] = best[i - 1] as SimNode;
        i--;
      }
      best[i] = node;
    }
    return best;
  }

  private drawNatType(): SimNatType {
    const symmetric = this.options.symmetricFraction ?? 0;
    return this.natTypeDraws && this.natTypeDraws.float() < symmetric ? 'symmetric' : 'port-restricted';
  }

  /** A new node's id: random, or with BEP 42 enforced, a valid one for its address. */
  private newId(host: string): Uint8Array {
    return this.options.dht?.secureIds === 'require'
      ? secureNodeId(host, this.placement)
      : this.placement.bytes(20);
  }

  /** A fresh random target id from the world's stream. */
  randomId(): Uint8Array {
    return this.placement.bytes(20);
  }

  /** An integer in [0, max) from the world's stream. */
  int(max: number): number {
    return this.placement.int(max);
  }

  async close(): Promise<void> {
    for (const node of [...this.live]) await this.remove(node);
  }
}
