/**
 * Dht: the public API of a Mainline node. It owns the pieces below it (transport, rpc, routing
 * tables, tokens, peer store) and wires them together; each piece stays testable on its own.
 *
 *   const dht = new Dht({ bootstrap: ['router.bittorrent.com:6881'] });
 *   await dht.start();
 *   for await (const peer of dht.getPeers(infoHash)) console.log(peer);
 *   await dht.announce(infoHash, { port: 6881 });
 *   await dht.close();
 *
 * The machinery (sockets, tables, identity, bootstrap, upkeep) is in dht-core.ts; next to it:
 * options.ts (types), sockets.ts (binding v4/v6), tables.ts (BEP 32 v4 and v6 routing tables),
 * lookups.ts (per-family lookups), indexing.ts (BEP 33 scrape, BEP 51 samples), external-ip.ts
 * (BEP 42 voting), maintenance.ts and bootstrap.ts.
 */
import { idToHex, randomIdWithPrefix, randomNodeId } from '../kademlia/id.js';
import type { LookupResult } from '../kademlia/lookup.js';
import type { Contact, ExportedTable } from '../kademlia/routing-table.js';
import type { PeersReply, ReplyBase } from '../protocols/mainline/client.js';
import { ID_LENGTH } from '../protocols/mainline/messages.js';
import type { Rpc } from '../rpc/rpc.js';
import { type Address, addressKey } from '../transport/address.js';
import { deadline } from '../util/abort.js';
import { Reannouncer } from './reannounce.js';
import { AsyncQueue } from '../util/async-queue.js';
import { InvalidArgumentError } from '../util/errors.js';
import type { BValue } from '../wire/bencode.js';
import type { StunClient } from '../protocols/stun/client.js';
import type { Allocation, TurnCredentials } from '../protocols/stun/turn.js';
import type { NodeRelay } from './relay.js';
import type { RelayServerStats } from './relay-server.js';
import { DhtCore } from './dht-core.js';
import { discoverNat, type NatReport, STUN_FEATURE } from './nat.js';
import { familyReport, type FamilyReport, v6First } from './family.js';
import { ANNOUNCE_KEEPALIVE_MS, AnnounceKeepAlive, keepAliveWanted } from './announce-keepalive.js';
import type { FeatureStatus } from './feature-breakers.js';
import type { Puncher, PunchResult } from './punch.js';
import { MAX_CONCURRENT_REFRESH, NAT_DISCOVERY_TIMEOUT_MS } from './defaults.js';
import { type PressureLevel, pressureChanges } from './budget.js';

/** RTT history kept under resource pressure (level 1) and severe pressure (level 2), addresses. */
export { RTT_ENTRIES_SEVERE, RTT_ENTRIES_UNDER_PRESSURE } from './budget.js';
import { sampleWalk, scrapeLookup } from './indexing.js';
import type { GetResult, ItemCallOptions, ItemGetOptions, MutablePutOptions, PutResult } from './items.js';
import { announceTargets, kthLog2Distance } from './lookups.js';
import type {
  AnnounceOptions,
  AnnounceResult,
  CallOptions,
  GetPeersOptions,
  SampleInfohashesOptions,
  SampleInfohashesResult,
  ScrapeResult,
} from './options.js';

export type {
  AnnounceOptions,
  AnnounceResult,
  BootstrapResult,
  CallOptions,
  DhtOptions,
  GetPeersOptions,
  SampleInfohashesOptions,
  SampleInfohashesResult,
  ScrapeResult,
} from './options.js';

type PeersLookup = LookupResult<PeersReply>;

export class Dht extends DhtCore {
  /** Recent announces, repeated when our external address changes (node/reannounce.ts). */
  private readonly announced = new Reannouncer();

  /** Pings to the nodes storing our announces while we sit behind a restricting NAT. */
  private readonly keepAlive = new AnnounceKeepAlive(
    this.clock,
    this.options.announceKeepAliveMs ?? ANNOUNCE_KEEPALIVE_MS,
    (address) => this.ping(address, { timeoutMs: 2_000 }),
    () => keepAliveWanted(this.options.announceKeepAlive ?? 'auto', this.lastNat),
    this.features,
  );

  override async close(): Promise<void> {
    this.keepAlive.close();
    await super.close();
  }

  protected override reannounce(newHost: string): void {
    const due = this.announced.due(this.clock.now());
    if (due.length === 0) return;
    this.events.emit('reannounce', { host: newHost, count: due.length });
    // One at a time: a node with many torrents must not burst hundreds of lookups at once.
    void (async () => {
      for (const r of due) {
        if (this.closed) return;
        await this.announce(r.infoHash, { port: r.port, seed: r.seed }).catch(() => undefined);
      }
    })();
  }

  /**
   * Refresh the buckets holding fewer than K nodes (all but each table's deepest): one find_node
   * for a random id in each, a few at a time, in the bucket's family, farthest buckets first.
   * `maxBuckets` bounds how many (the farthest matter most: bucket 0 covers half the id space).
   * The 15-minute refresh keeps buckets fresh after that. Resolves with the number refreshed.
   */
  override async refresh(opts: CallOptions & { maxBuckets?: number } = {}): Promise<number> {
    const client = this.requireClient();
    const sparse = this.nodeTables
      .sparseBuckets(this.clock.now())
      .sort((a, b) => a.index - b.index)
      .slice(0, opts.maxBuckets ?? Number.POSITIVE_INFINITY);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sparse.length && !this.closed) {
        const { family, index } = sparse[next++] as (typeof sparse)[number];
        const target = randomIdWithPrefix(this.random, this.id, index);
        const d = this.callDeadline(opts, 'refresh');
        try {
          const seeds = this.nodeTables.closest(target, this.k * 2, family);
          await this.runLookup('refresh', target, seeds, d.signal, (contact, onSlow) =>
            client.findNode(contact.address, target, { signal: d.signal, onSlow }),
          );
        } catch {
          // An empty or unreachable bucket stays sparse until the next refresh.
        } finally {
          d.dispose();
        }
      }
    };
    await Promise.all(Array.from({ length: MAX_CONCURRENT_REFRESH }, worker));
    return sparse.length;
  }

  /** Ping one address; resolves with its id and round-trip time. */
  async ping(address: Address, opts: CallOptions = {}): Promise<ReplyBase> {
    const d = deadline(this.clock, opts.timeoutMs, 'ping', opts.signal, this.shutdown);
    try {
      return await this.requireClient().ping(address, { signal: d.signal });
    } finally {
      d.dispose();
    }
  }

  /**
   * Learn the NAT in front of this node from an RFC 5780 STUN server (coturn with two IPs, for
   * example) over the DHT's own socket: external address, mapping and filtering behaviour.
   * Emits `nat` and shows in stats().nat.
   */
  async discoverNat(stunServer: Address, opts: CallOptions = {}): Promise<NatReport> {
    this.requireClient();
    const d = deadline(
      this.clock,
      opts.timeoutMs ?? NAT_DISCOVERY_TIMEOUT_MS,
      'NAT discovery',
      opts.signal,
      this.shutdown,
    );
    try {
      const local = this.address;
      // Optional: a fault here switches STUN off (FEATURE_OFF until the back-off ends), never the node.
      const report = await this.features.call(STUN_FEATURE, () =>
        discoverNat(
          this.stun as StunClient,
          stunServer,
          local,
          this.externalIp(local.family),
          this.clock.now(),
          d.signal,
        ),
      );
      this.lastNat = report;
      this.events.emit('nat', report);
      return report;
    } finally {
      d.dispose();
    }
  }

  /**
   * Allocate a TURN relayed address (RFC 5766, long-term credentials) on the DHT's socket: the
   * relay of last resort. Later punches offer it to the peer, so a pair punching cannot connect
   * (symmetric NAT on both sides) still reaches each other through it.
   */
  async allocateRelay(turnServer: Address, credentials: TurnCredentials): Promise<Allocation> {
    this.requireClient();
    return (this.relay as NodeRelay).allocate(turnServer, credentials);
  }

  /** The last NAT discovery's report, when one ran. */
  get nat(): NatReport | undefined {
    return this.lastNat;
  }

  /**
   * Open a direct UDP path to `target` (a node or an announced peer behind NAT) through `via`, a
   * node the target keeps in touch with (for an announced peer: a node it announced to).
   * Resolves with the address that answered; use it for the peer from now on.
   */
  async punch(target: Address, via: Address, opts: CallOptions = {}): Promise<PunchResult> {
    this.requireClient();
    const d = deadline(this.clock, opts.timeoutMs, 'punch', opts.signal, this.shutdown);
    try {
      return await (this.puncher as Puncher).punch(target, via, d.signal);
    } finally {
      d.dispose();
    }
  }

  /** The K closest nodes to target that answered, nearest first (K per family on a dual-stack node). */
  async findNode(target: Uint8Array, opts: CallOptions = {}): Promise<Contact[]> {
    this.checkTarget(target, 'target');
    const client = this.requireClient();
    const d = this.callDeadline(opts, 'find_node');
    try {
      const result = await this.runLookup(
        'find_node',
        target,
        this.seedsFor(target),
        d.signal,
        (contact, onSlow) => client.findNode(contact.address, target, { signal: d.signal, onSlow }),
      );
      return result.closest.map((c) => c.contact);
    } finally {
      d.dispose();
    }
  }

  /**
   * Peers for an infohash, yielded as they arrive (each once), from both families on a
   * dual-stack node. Stopping the iteration early cancels the lookup.
   */
  async *getPeers(infoHash: Uint8Array, opts: GetPeersOptions = {}): AsyncGenerator<Address> {
    this.checkTarget(infoHash, 'infohash');
    const queue = new AsyncQueue<Address>();
    const stop = new AbortController();
    const seen = new Set<string>();
    this.peersLookup(infoHash, { ...opts, signal: anySignal(opts.signal, stop.signal) }, (peers) => {
      for (const peer of peers) {
        const key = addressKey(peer);
        if (seen.has(key)) continue;
        seen.add(key);
        queue.push(peer);
      }
    }).then(
      () => queue.end(),
      (err: unknown) => queue.fail(err),
    );
    try {
      yield* queue;
    } finally {
      stop.abort();
    }
  }

  /** All peers a get_peers lookup finds, when streaming is not needed. */
  async findPeers(infoHash: Uint8Array, opts: GetPeersOptions = {}): Promise<Address[]> {
    const out: Address[] = [];
    for await (const peer of this.getPeers(infoHash, opts)) out.push(peer);
    return v6First(out); // IPv6 first: the address an application dials first
  }

  /**
   * Announce that we are a peer for infoHash to the K closest nodes (in each family) that gave us
   * write tokens.
   */
  async announce(infoHash: Uint8Array, opts: AnnounceOptions = {}): Promise<AnnounceResult> {
    this.checkTarget(infoHash, 'infohash');
    if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535))
      throw new InvalidArgumentError(`port must be 1-65535, got ${opts.port}`);
    const client = this.requireClient();
    const started = this.clock.now();
    this.announced.remember(infoHash, opts.port, opts.seed ?? false, started);
    const d = this.callDeadline(opts, 'announce');
    try {
      const peers = new Map<string, Address>();
      const result = await this.peersLookup(infoHash, { signal: d.signal }, (found) => {
        for (const p of found) peers.set(addressKey(p), p);
      });
      const targets = announceTargets(this, result, this.secureIds === 'require');
      let announcedTo = 0;
      const took: Address[] = [];
      await Promise.all(
        targets.map(async ({ contact, token }) => {
          try {
            await client.announcePeer(
              contact.address,
              { infoHash, port: opts.port, token, seed: opts.seed ?? false },
              { signal: d.signal },
            );
            announcedTo++;
            took.push(contact.address);
          } catch {
            // A node that refuses (stale token, gone) just does not count.
          }
        }),
      );
      this.keepAlive.remember(took);
      this.events.emit('lookup:finished', {
        kind: 'announce',
        target: infoHash,
        durationMs: this.clock.now() - started,
        queried: result.queried + targets.length,
        responded: result.responded,
        failed: result.failed,
        unanswered: result.unanswered,
        hops: result.hops,
        found: announcedTo,
        ok: announcedTo > 0,
        kthLog2Distance: kthLog2Distance(this, infoHash, result),
      });
      return { announcedTo, candidates: targets.length, peers: [...peers.values()] };
    } finally {
      d.dispose();
    }
  }

  /** BEP 44: store an immutable item on the K closest nodes; its target is SHA-1 of bencoded v. */
  putImmutable(v: BValue, opts?: ItemCallOptions & { republish?: boolean }): Promise<PutResult> {
    return this.itemOps.putImmutable(v, opts);
  }

  /**
   * BEP 44: sign and store a mutable item. Without `seq`, reads the network's latest seq first and
   * publishes one above it; conflicts throw SeqConflictError or CasMismatchError saying what to do.
   */
  putMutable(opts: MutablePutOptions): Promise<PutResult> {
    return this.itemOps.putMutable(opts);
  }

  /** BEP 44: the verified item with the highest seq the K closest nodes hold, or undefined. */
  get(target: Uint8Array, opts?: ItemGetOptions): Promise<GetResult | undefined> {
    this.checkTarget(target, 'target');
    return this.itemOps.get(target, opts);
  }

  /** BEP 33: estimate how many seeds and leechers an infohash has, from the nodes' bloom filters. */
  async scrape(infoHash: Uint8Array, opts: CallOptions = {}): Promise<ScrapeResult> {
    this.checkTarget(infoHash, 'infohash');
    const client = this.requireClient();
    const d = this.callDeadline(opts, 'scrape');
    try {
      return await scrapeLookup(this, client, infoHash, d.signal);
    } finally {
      d.dispose();
    }
  }

  /** BEP 51: walk towards a target asking each node for a sample of the infohashes it holds. */
  async sampleInfohashes(opts: SampleInfohashesOptions = {}): Promise<SampleInfohashesResult> {
    const target = opts.target ?? randomNodeId(this.random, ID_LENGTH);
    this.checkTarget(target, 'target');
    const client = this.requireClient();
    const d = this.callDeadline(opts, 'sample_infohashes');
    try {
      return await sampleWalk(this, client, target, d.signal);
    } finally {
      d.dispose();
    }
  }

  /** The routing table(s) as plain JSON, to save and pass back as `routingTable` on restart. */
  /**
   * Load or attack pressure on the token lifetime, 0-1 (`tokenPressure` in protocols/mainline/
   * tokens.ts makes one from a query rate and anomaly flags; the daemon feeds it every tick):
   * tokens live 5-10 minutes at 0, 1-2 minutes at 1. Shared secrets keep the fixed period.
   */
  setTokenPressure(pressure: number): void {
    this.tokens.setPressure(pressure);
  }

  /**
   * Resource pressure from the owner's budgets (node/budget.ts `BudgetGovernor`; the daemon feeds
   * it every tick). Level 1: lookups run one query less in parallel, without the wide last round
   * or path caching, and the per-contact RTT history keeps RTT_ENTRIES_UNDER_PRESSURE addresses;
   * level 2: lookups ask one contact at a time and the RTT history keeps RTT_ENTRIES_SEVERE.
   * Level 0 restores all. Emits `budget` with what changed; returns the same list (empty when the
   * level did not change).
   */
  setResourcePressure(level: PressureLevel): string[] {
    if (level === this.pressure) return [];
    const changes = pressureChanges(this.latency, this.alpha, this.pressure, level);
    this.pressure = level;
    this.events.emit('budget', { level, changes });
    return changes;
  }

  /** The token rotation period now, ms (a token lives one to two of them). */
  get tokenPeriodMs(): number {
    return this.tokens.periodMs;
  }

  exportRoutingTable(): ExportedTable {
    return this.nodeTables.export(idToHex);
  }

  /** Counters for status displays and metrics. */
  stats(): {
    id: string;
    address: Address | undefined;
    address6: Address | undefined;
    bootstrapped: boolean;
    routingTable: { size: number; buckets: number };
    routingTable6: { size: number; buckets: number } | undefined;
    inFlight: number;
    rpc: ReturnType<Rpc['stats']['snapshot']> | undefined;
    tokenRotations: number;
    nat: NatReport | undefined;
    punch: { punched: number; failed: number; introductions: number; relayed: number };
    relay: {
      relayed: Address | undefined;
      sent: number;
      received: number;
      /** Through relaying DHT nodes: datagrams we sent and received over circuits. */
      viaNodes: { sent: number; received: number };
      /** As a relaying node (`relay: true`): circuits and what they carried. */
      serving: RelayServerStats | undefined;
    };
    /** Which family new contacts prefer (6 once v6 works) and each family's table and external address. */
    families: FamilyReport;
    /** Per-contact breakers (kademlia/contact-breaker.ts): addresses tracked, opened, queries skipped. */
    contactBreakers: { tracked: number; opened: number; skipped: number };
    /** Optional features that ever threw (node/feature-breakers.ts): on again, or off until when. */
    features: FeatureStatus[];
  } {
    const v6 = this.nodeTables.v6;
    return {
      id: idToHex(this.idBytes),
      address: this.transport?.address,
      address6: this.address6,
      bootstrapped: this.bootstrapped,
      routingTable: { size: this.nodeTables.v4.size, buckets: this.nodeTables.v4.bucketCount },
      routingTable6: v6 ? { size: v6.size, buckets: v6.bucketCount } : undefined,
      inFlight: this.rpc?.inFlight ?? 0,
      rpc: this.rpc?.stats.snapshot(),
      tokenRotations: this.tokens.rotations,
      nat: this.lastNat,
      punch: {
        punched: this.puncher?.punched ?? 0,
        failed: this.puncher?.failed ?? 0,
        introductions: this.puncher?.introductions ?? 0,
        relayed: this.puncher?.relayed ?? 0,
      },
      relay: {
        relayed: this.relay?.allocation?.relayed,
        sent: this.relay?.sent ?? 0,
        received: this.relay?.received ?? 0,
        viaNodes: { sent: this.relayClient?.sent ?? 0, received: this.relayClient?.received ?? 0 },
        serving: this.relayServer ? { ...this.relayServer.stats } : undefined,
      },
      families: familyReport(this.nodeTables.v4.size, v6?.size, (f) => this.externalIp(f)),
      contactBreakers: {
        tracked: this.contactBreakers.size,
        opened: this.contactBreakers.opened,
        skipped: this.contactBreakers.skipped,
      },
      features: this.features.status(),
    };
  }

  // ------------------------------------------------------------------------------------------

  private async peersLookup(
    infoHash: Uint8Array,
    opts: GetPeersOptions,
    onPeers: (peers: Address[]) => void,
  ): Promise<PeersLookup> {
    const client = this.requireClient();
    const d = this.callDeadline(opts, 'get_peers');
    try {
      return await this.runLookup(
        'get_peers',
        infoHash,
        this.seedsFor(infoHash),
        d.signal,
        (contact, onSlow) =>
          client.getPeers(contact.address, infoHash, { signal: d.signal, onSlow }, { noseed: opts.noseed }),
        (reply) => {
          if (reply.values.length === 0) return false;
          opts.onPeersFrom?.(reply.from, reply.values);
          onPeers(reply.values);
          return true;
        },
      );
    } finally {
      d.dispose();
    }
  }
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 1 ? (present[0] as AbortSignal) : AbortSignal.any(present);
}
