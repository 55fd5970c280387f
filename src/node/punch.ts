/**
 * UDP hole punching for the Mainline node, ICE-like. To reach a peer behind NAT we ask a node the
 * peer keeps in touch with (the rendezvous) to introduce us; the rendezvous tells the peer our
 * address as it sees it; both sides then ping each other every PROBE_INTERVAL_MS. Each side also
 * pings back whatever address the other's packets actually arrive from (a peer-reflexive
 * candidate): a symmetric NAT gives the peer a new port towards us, and only that port works.
 *
 * As a rendezvous we introduce only to addresses that queried us recently (their NAT lets our
 * packets in) and only PUNCH_INTRODUCTIONS_PER_S per second, so we cannot be used to spray others.
 */
import type { MainlineClient } from '../protocols/mainline/client.js';
import type { PunchHooks } from '../protocols/mainline/handlers/context.js';
import type { Rpc } from '../rpc/rpc.js';
import { type Address, addressKey, sameAddress } from '../transport/address.js';
import { AddressSlab } from '../transport/address-slab.js';
import type { Clock, Timer } from '../util/clock.js';
import { TimeoutError } from '../util/errors.js';
import { encodeCompactAddress } from '../wire/compact.js';
import type { NodeRelay } from './relay.js';
import type { RelayClient } from './relay-client.js';

/** Time between probes to one candidate. */
export const PROBE_INTERVAL_MS = 50;
/** A punch that has not connected within this has failed. */
export const PUNCH_TIMEOUT_MS = 2_000;
/** Punching this long without an answer: open a relay circuit beside it (when no TURN is set up). */
export const RELAY_AFTER_MS = 700;
/** How long the rendezvous waits for the target to confirm an introduction. */
export const INTRODUCE_TIMEOUT_MS = 1_000;
/** Queriers remembered as "recently in touch" (the oldest is forgotten first). */
export const MAX_RECENT_QUERIERS = 1_024;
/** A querier counts as in touch for this long (well under Linux's 30 s unreplied UDP timeout). */
export const RECENT_QUERIER_MS = 25_000;
/** Introductions a rendezvous makes per second, all requesters together. */
export const PUNCH_INTRODUCTIONS_PER_S = 50;
/** Punches (ours and introduced) running at once. */
export const MAX_ACTIVE_PUNCHES = 32;

export type PunchTechnique = 'direct' | 'punched' | 'punched-reflexive' | 'relayed';

export interface PunchResult {
  /** The address that answered: use it for this peer from now on. */
  address: Address;
  technique: PunchTechnique;
  /** From the call to the first answer. */
  ms: number;
}

export interface PunchEvents {
  punched: (e: PunchResult & { initiator: boolean }) => void;
  failed: (e: { target: Address; initiator: boolean; reason: string }) => void;
}

interface Attempt {
  /** The peer's IP: packets from it, any port, are candidates. */
  host: string;
  tried: Map<string, Address>;
  /** When the peer's first packet arrived: pings sent before it got through on their own. */
  firstInbound: number;
  onCandidate(from: Address): void;
}

/** The key under which `recentByHost` keeps an IP: its address with port 0. */
function hostOf(a: Address): Address {
  return { host: a.host, port: 0, family: a.family };
}

export class Puncher implements PunchHooks {
  /** Per querier address: when it last queried us. */
  private readonly recent = new AddressSlab(1, MAX_RECENT_QUERIERS);
  /**
   * Per querier IP (kept under port 0): the port it used last. A symmetric NAT shows us another
   * port than it showed others.
   */
  private readonly recentByHost = new AddressSlab(1, MAX_RECENT_QUERIERS);
  private readonly attempts = new Set<Attempt>();
  private windowStart = 0;
  private windowCount = 0;
  introductions = 0;
  punched = 0;
  failed = 0;
  /** Peers reached through a relay node after punching failed. */
  relayed = 0;
  /** Relay circuits through DHT nodes, the fallback when punching fails and no TURN is set up. */
  nodeRelay: RelayClient | undefined;

  constructor(
    private readonly rpc: () => Rpc,
    private readonly client: () => MainlineClient,
    private readonly localId: () => Uint8Array,
    private readonly relay: NodeRelay | undefined,
    private readonly clock: Clock,
    private readonly shutdown: AbortSignal,
    private readonly events: PunchEvents,
  ) {}

  /** Every inbound query: remembers who is in touch, and feeds running punches. */
  sawQuery(from: Address): void {
    this.recent.set(this.recent.touch(from), 0, this.clock.now());
    this.recentByHost.set(this.recentByHost.touch(hostOf(from)), 0, from.port);
    for (const a of this.attempts) if (a.host === from.host) a.onCandidate(from);
  }

  /** Reach `target` through `via` (a node the target keeps in touch with). */
  async punch(target: Address, via: Address, signal?: AbortSignal): Promise<PunchResult> {
    const started = this.clock.now();
    // A new attempt looks for a direct path: probes must not ride an old relay circuit.
    this.nodeRelay?.forget(target);
    // With a TURN allocation the peer may also reach us through it: let its IP in, and say where.
    const relayed = this.relay?.allocation?.relayed;
    if (relayed) await this.relay?.permit(target);
    const args = {
      id: this.localId(),
      to: encodeCompactAddress(target) as Uint8Array,
      ...(relayed ? { r: encodeCompactAddress(relayed) as Uint8Array } : {}),
    };
    // Probing starts at once, so the rendezvous' answer only matters for its side effect.
    this.rpc()
      .query(via, 'punch', args, {
        signal: signal ?? this.shutdown,
        timeoutMs: INTRODUCE_TIMEOUT_MS * 2,
        retries: 0,
      })
      .catch(() => undefined);
    // Probes and, once punching has had RELAY_AFTER_MS, a relay circuit race: a pair that cannot
    // punch (symmetric NAT) connects well within PUNCH_TIMEOUT_MS, and one that can punches
    // without bothering a relay.
    const stopProbing = new AbortController();
    let punchedFirst = false;
    const probing = this.probe(
      target,
      signal ? AbortSignal.any([signal, stopProbing.signal]) : stopProbing.signal,
    );
    probing.then(
      () => (punchedFirst = true),
      () => undefined,
    );
    const relaying = new Promise<Address | undefined>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        if (punchedFirst) return resolve(undefined);
        this.throughRelayNode(target, via, signal, () => punchedFirst).then(resolve, () =>
          resolve(undefined),
        );
      }, RELAY_AFTER_MS);
      probing.then(
        () => {
          timer.cancel();
          resolve(undefined);
        },
        () => undefined,
      );
    });
    type Outcome =
      | { kind: 'punched'; hit: Address; unaided: boolean }
      | { kind: 'relayed'; address: Address }
      | { kind: 'failed'; err: unknown };
    const outcome = await new Promise<Outcome>((resolve) => {
      let failure: unknown;
      let pending = 2;
      const lost = () => {
        if (--pending === 0) resolve({ kind: 'failed', err: failure });
      };
      probing.then(
        (r) => resolve({ kind: 'punched', ...r }),
        (err: unknown) => {
          failure = err;
          lost();
        },
      );
      relaying.then((address) => (address ? resolve({ kind: 'relayed', address }) : lost()));
    });
    const ms = this.clock.now() - started;
    if (outcome.kind === 'punched') {
      const { hit, unaided } = outcome;
      const technique: PunchTechnique = this.relay?.carries(hit)
        ? 'relayed'
        : !sameAddress(hit, target)
          ? 'punched-reflexive'
          : unaided
            ? 'direct'
            : 'punched';
      const result = { address: hit, technique, ms };
      this.punched++;
      this.events.punched({ ...result, initiator: true });
      return result;
    }
    if (outcome.kind === 'relayed') {
      stopProbing.abort();
      const result = { address: outcome.address, technique: 'relayed' as const, ms };
      this.relayed++;
      this.events.punched({ ...result, initiator: true });
      return result;
    }
    this.failed++;
    this.events.failed({ target, initiator: true, reason: String(outcome.err) });
    throw outcome.err;
  }

  /**
   * Punching is slow or failing: without a TURN allocation, ask the rendezvous to relay (it reaches the
   * target, or it could not have introduced us) and check the circuit with a ping.
   */
  private async throughRelayNode(
    target: Address,
    via: Address,
    signal: AbortSignal | undefined,
    punched: () => boolean,
  ): Promise<Address | undefined> {
    const relay = this.nodeRelay;
    if (!relay || this.relay?.allocation || signal?.aborted || this.shutdown.aborted) return undefined;
    try {
      await relay.open(target, via, signal);
      // A direct path found meanwhile is better: do not route the peer through the relay.
      if (punched()) {
        relay.forget(target);
        return undefined;
      }
      const reply = await this.client().ping(target, {
        signal: signal ?? this.shutdown,
        timeoutMs: PUNCH_TIMEOUT_MS,
        retries: 1,
      });
      if (punched()) relay.forget(target);
      return punched() ? undefined : reply.from;
    } catch {
      relay.forget(target);
      return undefined;
    }
  }

  introduced(peer: Address, _rendezvous: Address, relayed?: Address): void {
    this.nodeRelay?.expect(peer);
    if (this.attempts.size >= MAX_ACTIVE_PUNCHES) return;
    const started = this.clock.now();
    this.probe(peer, undefined, relayed).then(
      ({ hit }) => {
        const technique: PunchTechnique =
          relayed && sameAddress(hit, relayed)
            ? 'relayed'
            : sameAddress(hit, peer)
              ? 'punched'
              : 'punched-reflexive';
        this.events.punched({ address: hit, technique, ms: this.clock.now() - started, initiator: false });
      },
      (err: unknown) => this.events.failed({ target: peer, initiator: false, reason: String(err) }),
    );
  }

  /**
   * Where `wanted` can be reached from here: the requester learned its address from some other
   * node, maybe long ago, and behind a symmetric NAT (or after its mapping expired) it reaches us
   * from another port. So both the address asked for and the one its IP used here last, when
   * they queried us within RECENT_QUERIER_MS.
   */
  inTouch(wanted: Address): Address[] {
    const now = this.clock.now();
    const fresh = (a: Address): boolean => {
      const slot = this.recent.find(a);
      return slot >= 0 && now - this.recent.get(slot, 0) <= RECENT_QUERIER_MS;
    };
    const hostSlot = this.recentByHost.find(hostOf(wanted));
    const latest: Address | undefined =
      hostSlot < 0 ? undefined : { ...wanted, port: this.recentByHost.get(hostSlot, 0) };
    return [wanted, ...(latest && !sameAddress(latest, wanted) ? [latest] : [])].filter(fresh);
  }

  async introduce(wanted: Address, requester: Address, relayed?: Address): Promise<boolean> {
    const now = this.clock.now();
    const targets = this.inTouch(wanted);
    if (targets.length === 0) return false;
    if (now - this.windowStart >= 1_000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount += targets.length;
    if (this.windowCount > PUNCH_INTRODUCTIONS_PER_S) return false;
    this.introductions++;
    const tell = (target: Address) =>
      this.rpc()
        .query(
          target,
          'punch',
          {
            id: this.localId(),
            from: encodeCompactAddress(requester) as Uint8Array,
            ...(relayed ? { r: encodeCompactAddress(relayed) as Uint8Array } : {}),
          },
          { signal: this.shutdown, timeoutMs: INTRODUCE_TIMEOUT_MS, retries: 1 },
        )
        .then(() => true);
    try {
      return await Promise.any(targets.map(tell));
    } catch {
      return false;
    }
  }

  /**
   * Ping `target` every PROBE_INTERVAL_MS, and any address the peer's packets come from, until
   * one answers (its address resolves) or PUNCH_TIMEOUT_MS passes.
   */
  private probe(
    target: Address,
    signal: AbortSignal | undefined,
    relayed?: Address,
  ): Promise<{ hit: Address; unaided: boolean }> {
    if (this.attempts.size >= MAX_ACTIVE_PUNCHES)
      return Promise.reject(new TimeoutError(`${MAX_ACTIVE_PUNCHES} punches are running; try again shortly`));
    return new Promise<{ hit: Address; unaided: boolean }>((resolve, reject) => {
      const controller = new AbortController();
      let timer: Timer | undefined;
      let settled = false;
      const started = this.clock.now();
      const finish = (err: Error | undefined, hit?: Address, sentAt = 0) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        this.attempts.delete(attempt);
        signal?.removeEventListener('abort', onAbort);
        controller.abort();
        if (err) reject(err);
        else resolve({ hit: hit as Address, unaided: sentAt < attempt.firstInbound });
      };
      const onAbort = () =>
        finish(signal?.reason instanceof Error ? signal.reason : new TimeoutError('punch aborted'));
      const ping = (to: Address) => {
        const sentAt = this.clock.now();
        this.client()
          .ping(to, { signal: controller.signal, timeoutMs: PUNCH_TIMEOUT_MS, retries: 0 })
          .then(
            (reply) => finish(undefined, reply.from, sentAt),
            () => undefined,
          );
      };
      const attempt: Attempt = {
        host: target.host,
        tried: new Map([
          [addressKey(target), target],
          ...(relayed ? [[addressKey(relayed), relayed] as const] : []),
        ]),
        firstInbound: Infinity,
        onCandidate: (from) => {
          attempt.firstInbound = Math.min(attempt.firstInbound, this.clock.now());
          const key = addressKey(from);
          if (attempt.tried.has(key) || attempt.tried.size >= 8) return;
          attempt.tried.set(key, from);
          ping(from);
        },
      };
      const tick = () => {
        if (settled) return;
        if (this.clock.now() - started >= PUNCH_TIMEOUT_MS || this.shutdown.aborted) {
          finish(
            new TimeoutError(
              `no answer from ${addressKey(target)} within ${PUNCH_TIMEOUT_MS} ms of punching`,
            ),
          );
          return;
        }
        for (const to of attempt.tried.values()) ping(to);
        timer = this.clock.setTimeout(tick, PROBE_INTERVAL_MS);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.attempts.add(attempt);
      tick();
    });
  }
}
