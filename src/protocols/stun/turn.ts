/**
 * A TURN client (RFC 5766) over UDP for the relay of last resort: Allocate with long-term
 * credentials (the first request earns a 401 with realm and nonce; a 438 means a fresh nonce),
 * CreatePermission per peer IP, Send indications out and Data indications in. Refreshing
 * before LIFETIME runs out is the owner's job (`refresh`), and so is renewing permissions
 * before their 300 s are up (`renewPermissions`).
 */
import type { Address } from '../../transport/address.js';
import { KadmiumError } from '../../util/errors.js';
import { type StunClient, StunError, type StunReply } from './client.js';
import {
  Attr,
  addressAttribute,
  attribute,
  encodeAddress,
  longTermKey,
  Method,
  type StunAttribute,
  type StunMessage,
  text,
  u32,
  verifyIntegrity,
} from './message.js';

/** UDP, as REQUESTED-TRANSPORT wants it (protocol number in the top byte). */
const UDP_TRANSPORT = 17 << 24;
/** Peer IPs we hold permissions for (each costs the server state and us a refresh). */
export const MAX_TURN_PERMISSIONS = 64;

export interface TurnCredentials {
  username: string;
  password: string;
}

export interface Allocation {
  /** The address peers send to; the server relays it to us as Data indications. */
  relayed: Address;
  /** Our address as the server saw it. */
  mapped: Address | undefined;
  /** Seconds the allocation lives without a refresh. */
  lifetimeS: number;
}

export class TurnClient {
  private realm = '';
  private nonce: Uint8Array | undefined;
  private key: Uint8Array | undefined;
  /** Peer IP -> the address we asked for it (CreatePermission wants an address; the port is ignored). */
  private readonly permissions = new Map<string, Address>();
  allocation: Allocation | undefined;

  constructor(
    private readonly stun: StunClient,
    readonly server: Address,
    private readonly credentials: TurnCredentials,
    private readonly signal?: AbortSignal,
  ) {}

  /** Allocate a relayed address. */
  async allocate(): Promise<Allocation> {
    const reply = await this.authenticated(Method.Allocate, () => [
      { type: Attr.RequestedTransport, value: u32(UDP_TRANSPORT) },
    ]);
    const relayed = addressAttribute(reply.msg, Attr.XorRelayedAddress);
    if (!relayed)
      throw new KadmiumError('TURN_BAD_REPLY', `${this.server.host} allocated without a relayed address`);
    const lifetime = attribute(reply.msg, Attr.Lifetime);
    this.allocation = {
      relayed,
      mapped: addressAttribute(reply.msg, Attr.XorMappedAddress),
      lifetimeS:
        lifetime && lifetime.length === 4
          ? new DataView(lifetime.buffer, lifetime.byteOffset).getUint32(0)
          : 600,
    };
    return this.allocation;
  }

  /** Let `peer`'s IP send to our relayed address (any port: TURN permissions are per IP). */
  async permit(peer: Address): Promise<void> {
    if (this.permissions.has(peer.host)) return;
    if (this.permissions.size >= MAX_TURN_PERMISSIONS)
      throw new KadmiumError(
        'TURN_PERMISSIONS_FULL',
        `${MAX_TURN_PERMISSIONS} TURN permissions already; close the relay and allocate anew`,
      );
    await this.authenticated(Method.CreatePermission, (tid) => [
      { type: Attr.XorPeerAddress, value: encodeAddress(peer, tid, true) },
    ]);
    this.permissions.set(peer.host, peer);
  }

  /**
   * Renew every permission (RFC 5766 §8: they last 300 s, and only a CreatePermission renews
   * them; relayed traffic does not). One request per peer IP, all at once.
   */
  async renewPermissions(): Promise<void> {
    await Promise.all(
      [...this.permissions.values()].map((peer) =>
        this.authenticated(Method.CreatePermission, (tid) => [
          { type: Attr.XorPeerAddress, value: encodeAddress(peer, tid, true) },
        ]),
      ),
    );
  }

  permitted(host: string): boolean {
    return this.permissions.has(host);
  }

  /** Keep the allocation (lifetimeS > 0) or release it (0). */
  async refresh(lifetimeS: number): Promise<void> {
    await this.authenticated(Method.Refresh, () => [{ type: Attr.Lifetime, value: u32(lifetimeS) }]);
    if (lifetimeS === 0) this.allocation = undefined;
  }

  /** Relay one datagram to `peer` (which needs a permission). */
  send(peer: Address, data: Uint8Array): void {
    this.stun.indicate(this.server, Method.Send, (tid) => [
      { type: Attr.XorPeerAddress, value: encodeAddress(peer, tid, true) },
      { type: Attr.Data, value: data },
    ]);
  }

  /** A Data indication's peer and payload, or undefined for any other message. */
  static dataOf(msg: StunMessage): { peer: Address; data: Uint8Array } | undefined {
    if (msg.method !== Method.Data || msg.cls !== 'indication') return undefined;
    const peer = addressAttribute(msg, Attr.XorPeerAddress);
    const data = attribute(msg, Attr.Data);
    return peer && data ? { peer, data } : undefined;
  }

  /**
   * A request with long-term credentials: sent with the realm and nonce we have (none the
   * first time), retried once when the server answers 401 (new realm and nonce) or 438 (stale nonce).
   */
  private async authenticated(
    method: number,
    attrs: (tid: Uint8Array) => StunAttribute[],
  ): Promise<StunReply> {
    for (let attempt = 0; ; attempt++) {
      try {
        const key = this.key;
        const reply = await this.stun.request(
          this.server,
          method,
          (tid) => [
            ...attrs(tid),
            ...(this.nonce && key
              ? [
                  { type: Attr.Username, value: text(this.credentials.username) },
                  { type: Attr.Realm, value: text(this.realm) },
                  { type: Attr.Nonce, value: this.nonce },
                ]
              : []),
          ],
          { signal: this.signal, encode: { integrityKey: this.nonce ? key : undefined } },
        );
        if (key && !verifyIntegrity(reply.raw, key))
          throw new KadmiumError(
            'TURN_BAD_INTEGRITY',
            `${this.server.host}'s answer failed MESSAGE-INTEGRITY; is the password right?`,
          );
        return reply;
      } catch (err) {
        const reply = (err as { reply?: StunReply }).reply;
        if (
          attempt > 0 ||
          !(err instanceof StunError) ||
          !reply ||
          (err.stunCode !== 401 && err.stunCode !== 438)
        )
          throw err;
        const realm = attribute(reply.msg, Attr.Realm);
        const nonce = attribute(reply.msg, Attr.Nonce);
        if (!nonce) throw err;
        if (realm) this.realm = new TextDecoder().decode(realm);
        this.nonce = nonce;
        this.key = longTermKey(this.credentials.username, this.realm, this.credentials.password);
      }
    }
  }
}
