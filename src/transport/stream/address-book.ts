/**
 * Other addresses a peer key listens on (its IPv6 and IPv4 addresses of a dual-stack host), so
 * the pool can dial IPv6 first (happy-eyeballs.ts) when a contact names only one of them. The
 * overlay's wire carries one address per contact; what we learn beyond it (bootstrap entries
 * that list both families, `learn` from the embedding code) lives here, bounded.
 */
import { type Address, addressKey } from '../address.js';
import { toHex } from '../../util/bytes.js';
import { MAX_DIAL_CANDIDATES, orderCandidates } from './happy-eyeballs.js';

/** Peers remembered; the least recently learned goes first. */
export const MAX_BOOK_PEERS = 4096;

export class PeerAddressBook {
  private readonly peers = new Map<string, Address[]>();

  constructor(private readonly maxPeers = MAX_BOOK_PEERS) {}

  get size(): number {
    return this.peers.size;
  }

  /** Remember that publicKey also listens at these addresses (at most MAX_DIAL_CANDIDATES kept). */
  learn(publicKey: Uint8Array, addresses: readonly Address[]): void {
    const key = toHex(publicKey);
    const known = this.peers.get(key) ?? [];
    this.peers.delete(key);
    const merged = [
      ...addresses,
      ...known.filter((a) => !addresses.some((b) => addressKey(a) === addressKey(b))),
    ];
    this.peers.set(key, merged.slice(0, MAX_DIAL_CANDIDATES));
    while (this.peers.size > this.maxPeers) {
      const oldest = this.peers.keys().next().value as string;
      this.peers.delete(oldest);
    }
  }

  /** Where to dial publicKey, v6 first: the given address and any the book holds. */
  candidates(publicKey: Uint8Array, address: Address): Address[] {
    const known = this.peers.get(toHex(publicKey));
    return known ? orderCandidates([address, ...known]) : [address];
  }
}
