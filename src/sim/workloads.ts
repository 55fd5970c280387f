/**
 * What a simulated user does, one operation at a time, and how we judge it. Each workload runs
 * the node's public API and checks the answer against the world's ground truth.
 *
 * To measure another operation, add a workload here and register it in WORKLOADS; a scenario can
 * then run phases of it (the `items` scenario runs put_get).
 */
import type { LookupKind } from '../node/events.js';
import { zipf } from './distributions.js';
import type { SimNode, SimWorld } from './world.js';

export type OpKind = 'find_node' | 'get_peers' | 'announce' | 'put' | 'get' | 'connect';

/** Steps that store (announce, put) rather than look up; reported beside the lookups. */
export const STORE_KINDS: readonly OpKind[] = ['announce', 'put'];

export interface OpSample {
  kind: OpKind;
  /** Virtual time the operation started. */
  at: number;
  ok: boolean;
  /** Referral depth of the lookup (from the node's lookup:finished event). */
  hops: number;
  /** Queries the lookup sent. */
  queries: number;
  /** Queries of the lookup unanswered past their short timeout when it ended; undefined when not a lookup. */
  timeouts?: number;
  /** Virtual time the operation took, ms. */
  latencyMs: number;
  /**
   * Virtual time to the first correct result (the announcer as a peer, the item), ms; undefined
   * for operations without results (find_node, stores) and when none came.
   */
  firstMs?: number;
  /** get on the Zipf workload: the item came first from a node outside its true K closest (a path-cache copy). */
  hit?: boolean;
  /** connect (sim/nat-sim.ts): how the path was made, and the getter>announcer NAT types. */
  technique?: string;
  pair?: string;
}

export interface Workload {
  readonly name: string;
  /** The kind whose samples count as "lookups" in reports. */
  readonly lookupKind: OpKind;
  /** Run one operation from random live nodes; push one sample per step taken. */
  run(world: SimWorld, out: OpSample[]): Promise<void>;
}

/** Run `op` on node and time it, taking hops and queries from the node's own lookup event. */
async function measured<T>(
  world: SimWorld,
  node: SimNode,
  kind: OpKind & LookupKind,
  /** The lookup's target, to pick its event; undefined when the node computes it (put). */
  target: Uint8Array | undefined,
  op: () => Promise<T>,
  judge: (value: T) => boolean,
): Promise<OpSample> {
  const at = world.clock.now();
  let hops = 0;
  let queries = 0;
  let timeouts = 0;
  let firstMs: number | undefined;
  const eventKind: LookupKind = kind;
  const off = node.dht.events.on('lookup:finished', (e) => {
    if (e.kind === eventKind && (target === undefined || e.target === target)) {
      hops = e.hops;
      queries = e.queried;
      timeouts = e.unanswered ?? e.failed;
      firstMs = e.firstResultMs;
    }
  });
  let ok = false;
  try {
    ok = judge(await op());
  } catch {
    ok = false;
  } finally {
    off();
  }
  const sample: OpSample = { kind, at, ok, hops, queries, timeouts, latencyMs: world.clock.now() - at };
  if (ok && firstMs !== undefined && !STORE_KINDS.includes(kind)) sample.firstMs = firstMs;
  return sample;
}

/** find_node for a random id: ok when the truly closest live, reachable node is among the results. */
export const findNodeWorkload: Workload = {
  name: 'find_node',
  lookupKind: 'find_node',
  async run(world, out) {
    const target = world.randomId();
    const from = world.randomLive();
    const sample = await measured(
      world,
      from,
      'find_node',
      target,
      () => from.dht.findNode(target),
      (found) => {
        const truth = world.closestLive(target, 1, (n) => !n.nat && !n.hostile && n !== from)[0];
        return truth !== undefined && found.some((c) => c.address.host === truth.endpoint.address.host);
      },
    );
    out.push(sample);
  },
};

/**
 * A peer announces a random infohash, then another random node looks it up: ok when get_peers
 * returns the announcer's address. The announce is recorded as its own sample.
 */
export const getPeersWorkload: Workload = {
  name: 'get_peers',
  lookupKind: 'get_peers',
  async run(world, out) {
    const popular = world.popular;
    const infoHash =
      world.victim?.target ??
      (popular && popular.length > 0 ? (popular[world.int(popular.length)] as Uint8Array) : world.randomId());
    const announcer = world.randomLive();
    const host = announcer.endpoint.address.host;
    out.push(
      await measured(
        world,
        announcer,
        'announce',
        infoHash,
        () => announcer.dht.announce(infoHash, { port: announcer.endpoint.address.port }),
        (r) => r.announcedTo > 0,
      ),
    );
    const getter = world.randomLive((n) => n !== announcer);
    // Time to first peer is when the announcer itself arrives (the stream yields as replies
    // come), not the lookup's first reply with values: a wrong peer first would flatter it.
    const started = world.clock.now();
    let firstPeerMs: number | undefined;
    const sample = await measured(
      world,
      getter,
      'get_peers',
      infoHash,
      async () => {
        const peers = [];
        for await (const p of getter.dht.getPeers(infoHash)) {
          if (firstPeerMs === undefined && p.host === host) firstPeerMs = world.clock.now() - started;
          peers.push(p);
        }
        return peers;
      },
      (peers) => peers.some((p) => p.host === host),
    );
    if (firstPeerMs === undefined) delete sample.firstMs;
    else sample.firstMs = firstPeerMs;
    out.push(sample);
  },
};

/**
 * BEP 44: one random node puts an immutable item (20 random bytes, not republished), another gets
 * it by its target: ok when the value comes back byte for byte.
 */
export const putGetWorkload: Workload = {
  name: 'put_get',
  lookupKind: 'get',
  async run(world, out) {
    const value = world.victim?.value ?? world.randomId();
    const putter = world.randomLive();
    let target: Uint8Array | undefined;
    out.push(
      await measured(
        world,
        putter,
        'put',
        undefined,
        () => putter.dht.putImmutable(value, { republish: false }),
        (r) => {
          target = r.target;
          return r.storedOn > 0;
        },
      ),
    );
    const getter = world.randomLive((n) => n !== putter);
    const key = target ?? new Uint8Array(20);
    out.push(
      await measured(
        world,
        getter,
        'get',
        key,
        () => getter.dht.get(key),
        (r) => r !== undefined && r.v instanceof Uint8Array && Buffer.compare(r.v, value) === 0,
      ),
    );
  },
};

/** Distinct items of the Zipf workload, and its exponent. */
export const ZIPF_ITEMS = 200;
export const ZIPF_EXPONENT = 1;
const catalogues = new WeakMap<
  SimWorld,
  { draw: (r: SimWorld['random']) => number; items: Map<number, Promise<Uint8Array | undefined>> }
>();

/**
 * Popular content (Kademlia §2.5's case for caching): gets of ZIPF_ITEMS immutable items drawn
 * with Zipf(ZIPF_EXPONENT) popularity, each item put by a random node the first time it is
 * drawn. ok when the value comes back; `hit` when it came first from outside its K closest.
 */
export const zipfGetWorkload: Workload = {
  name: 'zipf_get',
  lookupKind: 'get',
  async run(world, out) {
    let cat = catalogues.get(world);
    if (!cat) {
      cat = { draw: zipf(ZIPF_ITEMS, ZIPF_EXPONENT), items: new Map() };
      catalogues.set(world, cat);
    }
    const rank = cat.draw(world.random);
    let published = cat.items.get(rank);
    if (!published) {
      const value = new Uint8Array(20);
      value.set(world.randomId());
      const putter = world.randomLive();
      published = (async () => {
        let target: Uint8Array | undefined;
        out.push(
          await measured(
            world,
            putter,
            'put',
            undefined,
            () => putter.dht.putImmutable(value, { republish: false }),
            (r) => {
              target = r.target;
              return r.storedOn > 0;
            },
          ),
        );
        return target;
      })();
      cat.items.set(rank, published);
    }
    const target = await published;
    if (!target) return;
    const getter = world.randomLive();
    let firstFrom: string | undefined;
    const sample = await measured(
      world,
      getter,
      'get',
      target,
      async () => {
        const r = await getter.dht.get(target);
        firstFrom = r?.firstFrom?.host;
        return r;
      },
      (r) => r !== undefined,
    );
    if (sample.ok) {
      const k = getter.dht.k;
      const primaries = world.closestLive(target, k, (n) => !n.nat).map((n) => n.endpoint.address.host);
      sample.hit = firstFrom !== undefined && !primaries.includes(firstFrom);
    }
    out.push(sample);
  },
};

export const WORKLOADS: Record<string, Workload> = {
  find_node: findNodeWorkload,
  get_peers: getPeersWorkload,
  put_get: putGetWorkload,
  zipf_get: zipfGetWorkload,
};
