/**
 * Adversaries for the simulator: real `Dht` nodes (their own lookups, tables, tokens and upkeep
 * run unmodified) whose inbound method table is swapped for a hostile one through the library's
 * `handlers` option. Each kind is one policy:
 *
 * - eclipse:  every find_node / get_peers / get is answered with the colluders closest to the
 *             target (never a value); announces and puts are accepted and dropped.
 * - fake:     answers with K closer-looking contacts that do not exist (ids sharing the target's
 *             first 16 bytes, addresses nobody listens on); stores dropped, no values.
 * - storage:  routes honestly (its referrals are true) but drops announces and puts, serves
 *             fake peers (index poisoning) and forged BEP 44 values that fail verification.
 * - sybil:    the eclipse policy from many ids on one /24 (one IP per 254 ids: ports differ),
 *             so the routing table's per-/24 diversity limit is what stands against it.
 * - targeted: the eclipse policy with ids chosen around one victim target (see `victimTarget`).
 * - announce-flood: routes honestly, but floods announce_peer with valid tokens and fake ports at
 *             the nodes closest to popular infohashes (sim/flood.ts).
 *
 * A run may also hold its adversaries back and let them join at once later (`next(true)`): the
 * anomaly harness's Sybils that arrive at the turn.
 */
import { compareDistance, randomIdWithPrefix } from '../kademlia/id.js';
import { immutableTargetOfEncoded } from '../protocols/mainline/bep44.js';
import { type Handlers, nodeHandlers } from '../protocols/mainline/handlers/index.js';
import { secureNodeId } from '../protocols/mainline/secure-id.js';
import type { HandlerContext } from '../protocols/mainline/handlers/context.js';
import type { Address } from '../transport/address.js';
import type { Random } from '../util/random.js';
import { encode } from '../wire/bencode.js';
import { encodeNodes, encodePeers } from '../wire/compact.js';
import { type FloodCounters, FloodTargets } from './flood.js';

export const ADVERSARY_KINDS = ['eclipse', 'fake', 'storage', 'sybil', 'targeted', 'announce-flood'] as const;
export type AdversaryKind = (typeof ADVERSARY_KINDS)[number];

/** No honest endpoint listens on this port: datagrams to a fake contact vanish. */
export const FAKE_PORT = 2;
/** Bytes of the target a fake contact's id keeps: it looks closer than any real node. */
const FAKE_PREFIX_BYTES = 16;
/** The /24 every Sybil id lives in. */
export const SYBIL_SUBNET = '66.66.66';

interface Member {
  readonly id: Uint8Array;
  readonly address: Address;
}

/**
 * Every adversary's contact (or a pool of fakes), shared by all of them: they collude. Bounded by
 * the world's size. Both DHTs' adversaries use it (the overlay's members carry a key too).
 */
export class Colluders<M extends { readonly id: Uint8Array } = Member> {
  private readonly members: M[] = [];

  add(member: M): void {
    this.members.push(member);
  }

  get size(): number {
    return this.members.length;
  }

  /** The n colluders closest to target, nearest first. A linear scan: adversaries are few thousand at most. */
  closest(target: Uint8Array, n: number): M[] {
    const best: M[] = [];
    for (const m of this.members) {
      if (best.length === n && compareDistance(target, m.id, (best[n - 1] as M).id) >= 0) continue;
      let i = Math.min(best.length, n - 1);
      if (best.length < n) best.push(m);
      while (i > 0 && compareDistance(target, m.id, (best[i - 1] as M).id) < 0) {
        best[i] = best[i - 1] as M;
        i--;
      }
      best[i] = m;
    }
    return best;
  }
}

/**
 * Whether node i of a build is an adversary, for a fraction F of them spread evenly over the
 * build (every part of the keyspace's history gets its share): when floor((i+1)F) passes floor(iF).
 */
export function isAdversaryIndex(i: number, fraction: number): boolean {
  return Math.floor((i + 1) * fraction) !== Math.floor(i * fraction);
}

/** The n-th Sybil's place in its one /24: 254 hosts, then the next port from basePort. */
export function sybilSlot(subnet: string, basePort: number, index: number): { host: string; port: number } {
  return { host: `${subnet}.${1 + (index % 254)}`, port: basePort + Math.floor(index / 254) };
}

/** A Sybil's address: one /24, 254 hosts, then the next port. */
export function sybilAddress(index: number): { host: string; port: number } {
  return sybilSlot(SYBIL_SUBNET, 6882, index);
}

/**
 * K fake contacts for target, derived from the liar's id (no randomness needed, and each liar
 * invents its own): ids share the target's first bytes, hosts are spread, the port is dead.
 */
function fakeContacts(ctx: HandlerContext, target: Uint8Array): Member[] {
  const out: Member[] = [];
  const me = ctx.localId;
  for (let i = 0; i < ctx.k; i++) {
    const id = new Uint8Array(target.length);
    id.set(target.subarray(0, FAKE_PREFIX_BYTES));
    for (let j = FAKE_PREFIX_BYTES; j < id.length; j++) id[j] = ((me[j] as number) + i * 37 + j) & 255;
    const host = `${11 + ((me[0] as number) % 90)}.${me[1] as number}.${(me[2] as number) ^ i}.${1 + i}`;
    out.push({ id, address: { host, port: FAKE_PORT, family: 4 } });
  }
  return out;
}

/** The method table of an adversary of `kind`; `colluders` is read at answer time. */
export function hostileHandlers(kind: AdversaryKind, colluders: Colluders, flood?: FloodTargets): Handlers {
  const referrals = (ctx: HandlerContext, target: Uint8Array): Uint8Array =>
    encodeNodes(kind === 'fake' ? fakeContacts(ctx, target) : colluders.closest(target, ctx.k), 4);
  const accept = (ctx: HandlerContext): { id: Uint8Array } => ({ id: ctx.localId });
  if (kind === 'announce-flood') {
    // Honest answers (the flood is what it sends, sim/flood.ts); what honest lookups ask about
    // is what the colluders take to be popular.
    return {
      ...nodeHandlers,
      get_peers: (ctx, query, from) => {
        flood?.learn(query.infoHash);
        return nodeHandlers.get_peers(ctx, query, from);
      },
    };
  }
  if (kind === 'storage') {
    return {
      ...nodeHandlers,
      announce_peer: (ctx) => accept(ctx),
      put: (ctx) => accept(ctx),
      get_peers: (ctx, query, from) => {
        const honest = nodeHandlers.get_peers(ctx, query, from);
        const poisoned = (reply: unknown): ReturnType<typeof nodeHandlers.get_peers> => {
          if (reply === null || typeof reply !== 'object' || !('id' in reply)) return reply as never;
          const fakes = fakeContacts(ctx, query.infoHash).map((m) => m.address);
          return { ...(reply as object), values: encodePeers(fakes) } as never;
        };
        return honest instanceof Promise ? honest.then(poisoned) : poisoned(honest);
      },
      get: async (ctx, query, from) => {
        const honest = await nodeHandlers.get(ctx, query, from);
        if (!('id' in honest)) return honest;
        // A forged immutable value: the asker's hash check fails on it.
        return { ...honest, v: encode(ctx.localId) };
      },
    };
  }
  return {
    ...nodeHandlers,
    find_node: (ctx, query) => ({ id: ctx.localId, nodes: referrals(ctx, query.target) }),
    get_peers: (ctx, query, from) => ({
      id: ctx.localId,
      nodes: referrals(ctx, query.infoHash),
      token: ctx.tokens.issue('peers', from.host, query.infoHash),
    }),
    get: (ctx, query, from) => ({
      id: ctx.localId,
      nodes: referrals(ctx, query.target),
      token: ctx.tokens.issue('items', from.host, query.target),
    }),
    announce_peer: (ctx) => accept(ctx),
    put: (ctx) => accept(ctx),
  };
}

/** A method table that answers with `hostile` while `on()` holds, honestly otherwise. */
export function gated(hostile: Handlers, on: () => boolean): Handlers {
  const out: Record<string, unknown> = {};
  for (const method of Object.keys(nodeHandlers) as (keyof Handlers)[]) {
    const bad = hostile[method] as (...args: unknown[]) => unknown;
    const good = nodeHandlers[method] as (...args: unknown[]) => unknown;
    out[method] = (...args: unknown[]) => (on() ? bad : good)(...args);
  }
  return out as unknown as Handlers;
}

export interface HostileNode {
  handlers: Handlers;
  /** An announce flooder: the runner starts its flood loop once the node exists. */
  flood?: boolean;
  host?: string;
  port?: number;
  idFor?: (host: string) => Uint8Array;
}

/**
 * The BEP 42-valid id for host nearest the target: the attacker tries all 256 values of the free
 * last byte (8 prefixes) and copies the target into the free middle bytes. With one IP it cannot
 * do better: the first 21 bits belong to its address.
 */
function nearestSecureId(host: string, target: Uint8Array, random: Random): Uint8Array {
  let best: Uint8Array | undefined;
  for (let r = 0; r < 256; r++) {
    const id = secureNodeId(host, random, r);
    id.set(target.subarray(3, 19), 3);
    id[2] = ((id[2] as number) & 0xf8) | ((target[2] as number) & 0x07);
    if (!best || compareDistance(target, id, best) < 0) best = id;
  }
  return best as Uint8Array;
}

/** How a world gets its adversaries: which node of the build is one, and how it is made. */
export class AdversaryPlan {
  readonly colluders = new Colluders();
  /** The announce flooders' popular infohashes, and what they sent. */
  readonly floodTargets = new FloodTargets();
  readonly flood: FloodCounters = { sent: 0, accepted: 0, refused: 0, tokenQueries: 0 };
  /** Adversaries created so far. */
  count = 0;
  /**
   * Whether the adversaries act hostile now. Off, they answer as honest nodes do: a run can let
   * them join and be trusted first, then turn (anomaly detection needs a before and an after).
   */
  hostile = true;
  private seen = 0;
  private readonly handlers: Handlers;
  /** Prefix bits a targeted adversary shares with the victim: closer than all but ~1 honest node. */
  private readonly victimBits: number;

  constructor(
    readonly kind: AdversaryKind,
    /** Fraction of the (non-router) nodes that are adversaries, 0..1. */
    readonly fraction: number,
    nodes: number,
    private readonly random: Random,
    readonly victim: { target: Uint8Array; value: Uint8Array } | undefined,
    /** BEP 42 enforced by honest nodes: an adversary's id must be valid for its IP. */
    private readonly secureIds = false,
  ) {
    this.handlers = gated(hostileHandlers(kind, this.colluders, this.floodTargets), () => this.hostile);
    this.victimBits = Math.ceil(Math.log2(Math.max(2, nodes))) + 1;
  }

  /**
   * Called once per node the build creates, in order: the hostile options when this one is an
   * adversary (spread evenly: node i is one when floor((i+1)F) passes floor(iF)), else undefined.
   * `force`: an adversary whatever the index (a cluster that joins later, all at once).
   */
  next(force = false): HostileNode | undefined {
    const i = this.seen++;
    if (!force && !isAdversaryIndex(i, this.fraction)) return undefined;
    const n = this.count++;
    const out: HostileNode = { handlers: this.handlers };
    if (this.kind === 'announce-flood') out.flood = true;
    if (this.kind === 'sybil') Object.assign(out, sybilAddress(n));
    const victim = this.victim;
    if (this.kind === 'targeted' && victim) {
      out.idFor = this.secureIds
        ? (host) => nearestSecureId(host, victim.target, this.random)
        : () => randomIdWithPrefix(this.random, victim.target, this.victimBits);
    } else if (this.secureIds) {
      out.idFor = (host) => secureNodeId(host, this.random);
    }
    return out;
  }

  /** Register a created adversary, so the others refer to it. */
  joined(id: Uint8Array, address: Address): void {
    this.colluders.add({ id, address });
  }
}

/** The targeted kind's victim: an immutable item (so gets can be checked) and its target. */
export function victimItem(seed: number): { target: Uint8Array; value: Uint8Array } {
  const value = new Uint8Array(20);
  for (let i = 0; i < value.length; i++) value[i] = (seed * 131 + i * 71 + 17) & 255;
  return { value, target: immutableTargetOfEncoded(encode(value)) };
}
