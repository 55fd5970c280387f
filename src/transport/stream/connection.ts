/**
 * What the overlay needs from a stream connection: a peer whose key a handshake proved, and
 * framed bodies both ways. TCP with the secure channel provides it; so does the simulator's
 * in-memory network, so the node depends only on these interfaces.
 */
import type { Address } from '../address.js';

export interface Connection {
  /** The peer's 33-byte public key, proven by the handshake. */
  readonly remotePublicKey: Uint8Array;
  readonly remoteAddress: Address;
  /** We dialled it. */
  readonly initiator: boolean;
  /** Queue one frame body; false when closed or when the send queue is full (backpressure). */
  send(body: Uint8Array): boolean;
  onBody(cb: (body: Uint8Array) => void): void;
  /** The send queue drained after `send` returned false. */
  onDrain(cb: () => void): void;
  onClose(cb: (reason: string) => void): void;
  close(reason?: string): void;
  readonly closed: boolean;
}

export interface StreamTransport {
  /** Where we accept connections. */
  readonly address: Address;
  /** The pooled connection to this key, or a new one (dial and handshake); rejects with a KadmiumError. */
  connect(address: Address, publicKey: Uint8Array, signal?: AbortSignal): Promise<Connection>;
  /**
   * Whether a fresh dial to this address reaches a node that proves this key, whatever the pool
   * holds: a connection the peer opened to us proves nothing about whether it can be dialled.
   */
  probe(address: Address, publicKey: Uint8Array, signal?: AbortSignal): Promise<boolean>;
  /** Every connection that enters the pool, inbound or outbound, once, before connect() resolves. */
  onConnection(cb: (conn: Connection) => void): void;
  close(): Promise<void>;
}
