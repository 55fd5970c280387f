/**
 * The secure channel's public contract: what the overlay node and its RPC layer use. The TCP
 * transport in this folder and the simulator's pre-authenticated pipes both implement it, so the
 * node never sees a socket.
 */
import type { Address } from '../address.js';

/** The local side of a channel: a secp256k1 key that can sign 32-byte digests, and its puzzle. */
export interface ChannelIdentity {
  /** 33-byte compressed secp256k1 public key. */
  readonly publicKey: Uint8Array;
  /** 65 bytes r||s||recid, low S, over a 32-byte digest. */
  signDigest(digest: Uint8Array): Uint8Array;
  /** 32-byte S/Kademlia dynamic-puzzle solution for this key's id. */
  readonly puzzle: Uint8Array;
}

/** True when signature is publicKey's signature over the 32-byte digest. Must not throw. */
export type VerifyDigest = (publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array) => boolean;

/** Checks a peer before any data flows (S/Kademlia puzzles, ban lists); undefined = admit, else the reason. */
export type AdmitPeer = (publicKey: Uint8Array, puzzle: Uint8Array) => string | undefined;

export interface Connection {
  /** Proven by the handshake. */
  readonly remotePublicKey: Uint8Array;
  readonly remoteAddress: Address;
  readonly initiator: boolean;
  /**
   * Send one body: `body`, followed by `tail` when given (a header and a payload arrive as one
   * body, and the caller need not copy them together). False: closed, or the send queue is full
   * (backpressure; wait for onDrain).
   */
  send(body: Uint8Array, tail?: Uint8Array): boolean;
  onBody(cb: (body: Uint8Array) => void): void;
  onDrain(cb: () => void): void;
  onClose(cb: (reason: string) => void): void;
  close(reason?: string): void;
  readonly closed: boolean;
}

export interface StreamTransport {
  readonly address: Address;
  /** The pooled connection to this key, or a new one (dial + handshake); rejects with a KadmiumError. */
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
