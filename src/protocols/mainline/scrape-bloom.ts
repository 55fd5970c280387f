/**
 * BEP 33 scrape bloom filters: 256 bytes (m = 2048 bits), k = 2, indexes from the first four bytes
 * of SHA-1 of the compact IP. Filters from several nodes are OR-ed, and the union's size is
 * estimated from the count of zero bits.
 */
import { createHash } from 'node:crypto';
import { ipv4ToBytes, ipv6ToBytes } from '../../transport/ip.js';

export const BLOOM_BYTES = 256;
const M = BLOOM_BYTES * 8;
const K = 2;

export class ScrapeBloom {
  readonly bits: Uint8Array;

  constructor(bits?: Uint8Array) {
    if (bits && bits.length !== BLOOM_BYTES)
      throw new RangeError(`a BEP 33 bloom filter is ${BLOOM_BYTES} bytes, got ${bits.length}`);
    this.bits = bits ? bits.slice() : new Uint8Array(BLOOM_BYTES);
  }

  /** Insert a raw IP (4 or 16 bytes). */
  insertIp(ip: Uint8Array): void {
    const h = createHash('sha1').update(ip).digest();
    const i1 = ((h[0] as number) | ((h[1] as number) << 8)) % M;
    const i2 = ((h[2] as number) | ((h[3] as number) << 8)) % M;
    this.bits[i1 >> 3] = (this.bits[i1 >> 3] as number) | (1 << (i1 & 7));
    this.bits[i2 >> 3] = (this.bits[i2 >> 3] as number) | (1 << (i2 & 7));
  }

  /** Insert an IP given as text; false when it is not one. */
  insertHost(host: string): boolean {
    const ip = host.includes(':') ? ipv6ToBytes(host) : ipv4ToBytes(host);
    if (!ip) return false;
    this.insertIp(ip);
    return true;
  }

  /** OR another filter into this one (the union of the two sets). */
  merge(other: Uint8Array | ScrapeBloom): void {
    const b = other instanceof ScrapeBloom ? other.bits : other;
    for (let i = 0; i < BLOOM_BYTES; i++) this.bits[i] = (this.bits[i] as number) | (b[i] as number);
  }

  /** BEP 33's estimate of how many distinct IPs were inserted. */
  estimate(): number {
    let zeros = 0;
    for (const byte of this.bits) for (let b = 0; b < 8; b++) if (((byte >> b) & 1) === 0) zeros++;
    // An empty filter holds nothing (the formula alone would say 0.5).
    if (zeros === M) return 0;
    const c = Math.min(M - 1, zeros);
    return Math.log(c / M) / (K * Math.log(1 - 1 / M));
  }
}
