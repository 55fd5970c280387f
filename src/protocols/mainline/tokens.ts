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
 */
import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../util/clock.js';
import { KeyedSha256, sha256 } from '../../util/sha256.js';
import type { Random } from '../../util/random.js';
import { ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';

export const TOKEN_ROTATE_MS = 5 * 60_000;
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
  private rotatedAt: number;
  /** Rotations so far, for statistics. */
  rotations = 0;
  /** Clock time shared secrets were last set (setShared); undefined: local secrets. */
  private sharedAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly rotateMs = TOKEN_ROTATE_MS,
    private readonly onRotate?: () => void,
  ) {
    this.current = this.secret();
    this.previous = this.secret();
    this.rotatedAt = clock.now();
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
    this.rotatedAt = this.clock.now();
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
    const elapsed = now - this.rotatedAt;
    if (elapsed < this.rotateMs) return;
    // Two or more periods passed: both secrets are stale.
    this.previous = elapsed >= 2 * this.rotateMs ? this.secret() : this.current;
    this.current = this.secret();
    this.rotatedAt = now - (elapsed % this.rotateMs);
    this.rotations++;
    this.onRotate?.();
  }
}
