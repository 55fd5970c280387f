/**
 * Write tokens (BEP 5 get_peers -> announce_peer, BEP 44 get -> put): SHA-256 of a 64-byte secret,
 * a scope byte, the requester's IP and the infohash, truncated to 8 bytes. The scope byte keeps
 * the two token spaces apart: an infohash and a BEP 44 target are both 20 bytes, and without it a
 * get_peers token would also authorise a put for the same key, and a get token an announce. The secret rotates every 5 minutes;
 * tokens under the current or previous secret are accepted, so a token lives 5-10 minutes.
 * Compared in constant time.
 *
 * Every message has the same shape, scope byte, IP (4 or 16 bytes), then a 20-byte key, and fits one block,
 * so a secret first block makes a MAC that rests on the same assumption as HMAC at half the price:
 * one SHA-256 compression per token (`KeyedSha256` in util/sha256.ts says why). A node issues
 * one with every get_peers reply.
 * Rotation is lazy on the injected clock, so there is no timer to manage or simulate.
 *
 * Adaptive lifetime: `setPressure(p)` (0-1: load or a detected attack, see `tokenPressure`)
 * shortens the rotation period linearly from TOKEN_ROTATE_MS (p = 0) to TOKEN_ROTATE_MIN_MS
 * (p = 1), so a token lives one to two periods: 5-10 minutes normally, 1-2 minutes under full
 * pressure. A shorter life shrinks the window in which a harvested token can be replayed and the
 * replay guard's record. Shared secrets (siblings behind one Redis) keep the fixed period: their
 * epoch, floor(now / TOKEN_ROTATE_MS), is the explicit time component all siblings agree on.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../util/clock.js';
import { KeyedSha256, sha256 } from '../../util/sha256.js';
import type { Random } from '../../util/random.js';
import { ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';

/** The rotation period with no pressure (the longest): tokens live 5-10 minutes. */
export const TOKEN_ROTATE_MS = 5 * 60_000;
/** The rotation period under full pressure (the shortest): tokens live 1-2 minutes. */
export const TOKEN_ROTATE_MIN_MS = 60_000;
/** Inbound queries per second at which load alone puts full pressure on the token lifetime. */
export const TOKEN_PRESSURE_FULL_QPS = 2_000;
export const TOKEN_BYTES = 8;
const SECRET_BYTES = 64;
/** Infohashes and BEP 44 targets: every message ends with 20 key bytes. */
const KEY_BYTES = 20;

/** What a token authorises: `peers` (get_peers -> announce_peer) or `items` (get -> put). */
export type TokenScope = 'peers' | 'items';
/** The first byte of the MAC input per scope; any two distinct values would do. */
const SCOPE_BYTE: Readonly<Record<TokenScope, number>> = { peers: 0x01, items: 0x02 };

/**
 * Reused MAC inputs, scope byte, IP, then key: no allocation per token for the usual 20-byte key.
 * Shared by every node: each is filled and read within one synchronous call.
 */
const MESSAGE4 = new Uint8Array(1 + 4 + KEY_BYTES);
const MESSAGE6 = new Uint8Array(1 + 16 + KEY_BYTES);

export class TokenManager {
  private current: KeyedSha256;
  private previous: KeyedSha256;
  /** Clock time of the next rotation (lazy: done by the first issue or verify at or after it). */
  private nextRotateAt: number;
  /** Rotations so far, for statistics. */
  rotations = 0;
  /** Clock time shared secrets were last set (setShared); undefined: local secrets. */
  private sharedAt: number | undefined;
  /** 0-1: how far the period is pulled from rotateMs towards minRotateMs. */
  private pressure = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly rotateMs = TOKEN_ROTATE_MS,
    private readonly onRotate?: () => void,
    private readonly minRotateMs = Math.min(TOKEN_ROTATE_MIN_MS, rotateMs),
  ) {
    this.current = this.secret();
    this.previous = this.secret();
    this.nextRotateAt = clock.now() + rotateMs;
  }

  /** The token for a requester's IP and a key (infohash or BEP 44 target), good for one scope. */
  issue(scope: TokenScope, host: string, key: Uint8Array): Uint8Array {
    this.rotate();
    return this.current.mac(this.message(scope, host, key), TOKEN_BYTES);
  }

  /**
   * True when the token was issued for this scope, to this IP, for this key, under the current or
   * previous secret.
   */
  verify(scope: TokenScope, host: string, key: Uint8Array, token: Uint8Array): boolean {
    this.rotate();
    if (token.length !== TOKEN_BYTES) return false;
    const message = this.message(scope, host, key);
    // Evaluate both, always: the time taken must not depend on which secret matched.
    const a = timingSafeEqual(token, this.current.mac(message, TOKEN_BYTES));
    const b = timingSafeEqual(token, this.previous.mac(message, TOKEN_BYTES));
    return a || b;
  }

  /**
   * Use secrets shared with sibling nodes (storage/token-secrets.ts) instead of our own: the
   * epoch's and the previous epoch's. While they are fresh, local rotation stops; if nobody sets
   * them again for two periods (the store is gone), the node falls back to secrets of its own.
   */
  setShared(current: Uint8Array, previous: Uint8Array): void {
    this.current = new KeyedSha256(current);
    this.previous = new KeyedSha256(previous);
    this.sharedAt = this.clock.now();
    this.nextRotateAt = this.clock.now() + this.periodMs;
  }

  /**
   * Load or attack pressure, 0 (none) to 1 (full), clamped; anything not a number counts as 0.
   * More pressure brings the next rotation forward to at most one new period from now, never to
   * now: a token issued a moment ago still lives at least one period (TOKEN_ROTATE_MIN_MS).
   */
  setPressure(pressure: number): void {
    this.pressure = Number.isFinite(pressure) ? Math.min(1, Math.max(0, pressure)) : 0;
    this.nextRotateAt = Math.min(this.nextRotateAt, this.clock.now() + this.periodMs);
  }

  /** The rotation period now, ms: between minRotateMs and rotateMs. A token lives one to two of them. */
  get periodMs(): number {
    return Math.round(this.rotateMs - (this.rotateMs - this.minRotateMs) * this.pressure);
  }

  /** The rotation epoch of a clock time: the explicit time component of shared secrets. */
  epoch(now = this.clock.now()): number {
    return Math.floor(now / this.rotateMs);
  }

  private secret(): KeyedSha256 {
    return new KeyedSha256(this.random.bytes(SECRET_BYTES));
  }

  /**
   * The MAC input: the scope byte, the IP as 4 or 16 bytes (zeros for a host that is not an IP
   * literal, which a socket never reports), then the key; a key of another length than 20 bytes
   * (none reaches here from the wire) by its SHA-256. Written into a reused buffer, valid until
   * the next call.
   */
  private message(scope: TokenScope, host: string, key: Uint8Array): Uint8Array {
    const v6 = host.includes(':');
    const buffer = v6 ? MESSAGE6 : MESSAGE4;
    buffer[0] = SCOPE_BYTE[scope];
    if (!(v6 ? ipv6ToBytes(host, buffer, 1) : ipv4ToBytes(host, buffer, 1)))
      buffer.fill(0, 1, buffer.length - KEY_BYTES);
    buffer.set(
      key.length === KEY_BYTES ? key : sha256(key).subarray(0, KEY_BYTES),
      buffer.length - KEY_BYTES,
    );
    return buffer;
  }

  private rotate(): void {
    const now = this.clock.now();
    if (this.sharedAt !== undefined) {
      if (now - this.sharedAt < 2 * this.rotateMs) return;
      this.sharedAt = undefined;
    }
    if (now < this.nextRotateAt) return;
    const period = this.periodMs;
    // A whole period past the due rotation: the current secret would have retired too.
    this.previous = now >= this.nextRotateAt + period ? this.secret() : this.current;
    this.current = this.secret();
    // A late (lazy) rotation keeps the schedule's phase.
    this.nextRotateAt = now - ((now - this.nextRotateAt) % period) + period;
    this.rotations++;
    this.onRotate?.();
  }
}

/**
 * The token pressure for a node's state: full (1) while an attack is flagged (an anomaly rule is
 * active), else the inbound query rate as a share of TOKEN_PRESSURE_FULL_QPS.
 */
export function tokenPressure(state: { queriesInPerSec: number; attack: boolean }): number {
  if (state.attack) return 1;
  const load = state.queriesInPerSec / TOKEN_PRESSURE_FULL_QPS;
  return Number.isFinite(load) ? Math.min(1, Math.max(0, load)) : 0;
}
