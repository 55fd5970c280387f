/**
 * The announce flood (index poisoning at volume): a real `Dht` node that routes honestly but,
 * while hostile, sends announce_peer at FLOOD_QPS to the nodes closest to a few popular
 * infohashes, each time with a new port (a fake peer). Its tokens are valid: it asks each target
 * for one with get_peers, as a client would, and asks again when a target refuses. So what stands
 * against it is the node's own defences, not a bad-token check: the per-source and per-/24 rate
 * limits, the token replay guard (PORTS_PER_TOKEN ports per token and infohash) and the per-
 * infohash bound of the peer store (its stalest peer goes first).
 *
 * Which infohashes: the colluders share a bounded list. A run may pin it (the simulator's popular
 * infohashes, the anomaly harness's daemons); otherwise flooders add what honest get_peers queries
 * ask them about (they are on lookup paths), the attacker's view of what is popular.
 */
import type { Dht } from '../node/dht.js';
import type { Address } from '../transport/address.js';
import { every, type Timer } from '../util/clock.js';
import type { Random } from '../util/random.js';

/** Announces one flooder sends per second of virtual time, at most. */
export const FLOOD_QPS = 10;
/** Announces one flooder may have unanswered at once: a target that stops answering costs no more. */
export const FLOOD_MAX_IN_FLIGHT = 32;
/** Popular infohashes the colluders keep (the oldest learned one goes first). */
export const FLOOD_TARGETS_MAX = 32;
/** Targets one flooder announces to per infohash (a lookup's K closest). */
const TARGETS_PER_HASH = 8;
/** A flooder moves to another infohash (and fresh tokens) this often, ms. */
const SWITCH_EVERY_MS = 60_000;
/**
 * Nor more often than this, ms: a lookup and K get_peers each time. When every target refuses
 * (the replay guard has spent this IP's tokens for the infohash) it waits out the rest idle.
 */
const REAIM_MIN_MS = 10_000;
/** Ports a flooder's fake peers use start here (its real port stays out of it). */
const FAKE_PORT_BASE = 20_000;

/** Popular infohashes a flood run's get_peers operations use (and its flooders go after). */
export const POPULAR_INFOHASHES = 8;

/** The run's popular infohashes, from its seed alone (an attack-free run of the same seed gets the same). */
export function popularInfohashes(seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let h = 0; h < POPULAR_INFOHASHES; h++) {
    const hash = new Uint8Array(20);
    for (let i = 0; i < hash.length; i++) hash[i] = (seed * 193 + h * 97 + i * 59 + ((h * i) ^ 0x5c)) & 255;
    out.push(hash);
  }
  return out;
}

/** The infohashes the flooders go after, shared by all of them. */
export class FloodTargets {
  private readonly hashes: Uint8Array[] = [];
  private pinned = false;

  /** Go after these and nothing else (the run knows what is popular). */
  pin(hashes: readonly Uint8Array[]): void {
    this.hashes.splice(0, this.hashes.length, ...hashes.slice(0, FLOOD_TARGETS_MAX));
    this.pinned = true;
  }

  /** An infohash an honest lookup asked about; ignored once pinned or when already known. */
  learn(hash: Uint8Array): void {
    if (this.pinned || this.hashes.some((h) => equal(h, hash))) return;
    this.hashes.push(hash.slice());
    if (this.hashes.length > FLOOD_TARGETS_MAX) this.hashes.shift();
  }

  get size(): number {
    return this.hashes.length;
  }

  pick(random: Random): Uint8Array | undefined {
    return this.hashes.length === 0 ? undefined : this.hashes[random.int(this.hashes.length)];
  }
}

/** What the flooders did, summed over all of them. */
export interface FloodCounters {
  /** announce_peer queries sent. */
  sent: number;
  /** Accepted (the target stored a fake peer, or refreshed one). */
  accepted: number;
  /** Refused (a replayed token, a rate limit's error) or unanswered. */
  refused: number;
  /** get_peers sent to fetch tokens. */
  tokenQueries: number;
}

interface Aim {
  infoHash: Uint8Array;
  targets: { address: Address; token: Uint8Array }[];
  until: number;
}

/**
 * Start one flooder on `dht`: a timer that ticks while the node lives and floods while `on()`.
 * Returns the timer (cancelled when the node closes, too).
 */
export function startFlooder(
  dht: Dht,
  targets: FloodTargets,
  counters: FloodCounters,
  on: () => boolean,
): Timer {
  const clock = dht.clock;
  const random = dht.random;
  let aim: Aim | undefined;
  let aiming = false;
  let aimedAt = -Infinity;
  let inFlight = 0;
  let port = FAKE_PORT_BASE + random.int(10_000);
  let next = 0;

  const reaim = async (): Promise<void> => {
    const infoHash = targets.pick(random);
    if (!infoHash) return;
    const client = dht.requireClient();
    const closest = (await dht.findNode(infoHash)).slice(0, TARGETS_PER_HASH);
    const got: Aim['targets'] = [];
    await Promise.all(
      closest.map(async (c) => {
        counters.tokenQueries++;
        try {
          const reply = await client.getPeers(c.address, infoHash);
          if (reply.token) got.push({ address: c.address, token: reply.token });
        } catch {
          // A target that does not answer is simply not flooded.
        }
      }),
    );
    aim = { infoHash, targets: got, until: clock.now() + SWITCH_EVERY_MS };
  };

  const timer = every(clock, 1000 / FLOOD_QPS, () => {
    if (!on() || dht.shutdown.aborted) return;
    if (!aim || aim.targets.length === 0 || clock.now() >= aim.until) {
      if (aiming || clock.now() - aimedAt < REAIM_MIN_MS) return;
      aiming = true;
      aimedAt = clock.now();
      void reaim()
        .catch(() => undefined)
        .finally(() => {
          aiming = false;
        });
      return;
    }
    if (inFlight >= FLOOD_MAX_IN_FLIGHT) return;
    const target = aim.targets[next++ % aim.targets.length] as Aim['targets'][number];
    const fake = port++;
    if (port > 65_000) port = FAKE_PORT_BASE;
    inFlight++;
    counters.sent++;
    const client = dht.requireClient();
    const current = aim;
    void client
      .announcePeer(target.address, { infoHash: current.infoHash, port: fake, token: target.token })
      .then(
        () => counters.accepted++,
        () => {
          counters.refused++;
          // Refused: the replay guard spent this token (or it rotated); this target is done
          // with until the flooder moves on to another infohash.
          const i = current.targets.indexOf(target);
          if (i >= 0) current.targets.splice(i, 1);
        },
      )
      .finally(() => inFlight--);
  });
  dht.shutdown.addEventListener('abort', () => timer.cancel(), { once: true });
  return timer;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
