/**
 * Write tokens (BEP 5 get_peers -> announce_peer): an HMAC of the requester's IP and the infohash
 * under a secret that rotates every 5 minutes; tokens under the current or previous secret are
 * accepted, so a token lives 5-10 minutes. Compared in constant time.
 *
 * Rotation is lazy on the injected clock, so there is no timer to manage or simulate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';

export const TOKEN_ROTATE_MS = 5 * 60_000;
export const TOKEN_BYTES = 8;

export class TokenManager {
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;
  /** Rotations so far, for statistics. */
  rotations = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly rotateMs = TOKEN_ROTATE_MS,
    private readonly onRotate?: () => void,
  ) {
    this.current = random.bytes(32);
    this.previous = random.bytes(32);
    this.rotatedAt = clock.now();
  }

  /** The token for a requester's IP and an infohash. */
  issue(host: string, infoHash: Uint8Array): Uint8Array {
    this.rotate();
    return mac(this.current, host, infoHash);
  }

  /** True when the token was issued to this IP for this infohash under the current or previous secret. */
  verify(host: string, infoHash: Uint8Array, token: Uint8Array): boolean {
    this.rotate();
    if (token.length !== TOKEN_BYTES) return false;
    // Evaluate both, always: the time taken must not depend on which secret matched.
    const a = timingSafeEqual(token, mac(this.current, host, infoHash));
    const b = timingSafeEqual(token, mac(this.previous, host, infoHash));
    return a || b;
  }

  private rotate(): void {
    const now = this.clock.now();
    const elapsed = now - this.rotatedAt;
    if (elapsed < this.rotateMs) return;
    // Two or more periods passed: both secrets are stale.
    this.previous = elapsed >= 2 * this.rotateMs ? this.random.bytes(32) : this.current;
    this.current = this.random.bytes(32);
    this.rotatedAt = now - (elapsed % this.rotateMs);
    this.rotations++;
    this.onRotate?.();
  }
}

function mac(secret: Uint8Array, host: string, infoHash: Uint8Array): Uint8Array {
  const ip = host.includes(':') ? ipv6ToBytes(host) : ipv4ToBytes(host);
  const h = createHmac('sha256', secret);
  h.update(ip ?? new Uint8Array(0));
  h.update(infoHash);
  return new Uint8Array(h.digest().subarray(0, TOKEN_BYTES));
}
