/**
 * The TCP pool's options, counters, events and limits (tcp.ts), apart from its workings.
 */
import type { Socket } from 'node:net';
import type { Address } from '../address.js';
import type { ChannelOptions } from './channel.js';
import type { PeerAddressBook } from './address-book.js';

/** A direct dial with no connection after this is joined by a simultaneous open (NATs drop SYNs silently). */
export const PUNCH_DIAL_AFTER_MS = 250;
/** A relayed dial joins after this (after the simultaneous open started, or the direct dial). */
export const RELAY_DIAL_AFTER_MS = 1_000;

/** Close a pooled connection after this long with no record either way. */
export const IDLE_CLOSE_MS = 120_000;
/** Open connections per transport, inbound and outbound together (dials in progress count too). */
export const MAX_CONNECTIONS = 1024;
/** Handshakes in progress at once; a flood of half-open dials cannot hold more than this. */
export const MAX_HANDSHAKES = 64;
/** How the responder refuses the losing side of a simultaneous dial. */
export const DUPLICATE_REFUSAL = 'duplicate: keeping the connection initiated by the smaller key';
export const REPLACED_REASON = 'replaced by a newer connection with the same peer';
export const TRANSPORT_CLOSING_REASON = 'the transport is closing';

export type StreamTransportEvent =
  | { type: 'open'; peer: string; address: Address; initiator: boolean }
  | { type: 'close'; peer: string; address: Address; initiator: boolean; reason: string }
  | { type: 'refused'; address: Address; reason: string }
  | { type: 'handshake-failed'; address: Address; initiator: boolean; reason: string };

export interface TcpStreamTransportOptions extends Omit<ChannelOptions, 'remoteAddress' | 'idleCloseMs'> {
  /** Listen address; default 127.0.0.1 and an ephemeral port. */
  host?: string;
  port?: number;
  /** Default IDLE_CLOSE_MS; 0 = never. */
  idleCloseMs?: number;
  maxConnections?: number;
  maxHandshakes?: number;
  /** Every open, close (with its reason), refusal and failed handshake. */
  onEvent?: (event: StreamTransportEvent) => void;
  /** Other addresses of peers (dual stack): a dial tries them IPv6 first (happy-eyeballs.ts). */
  addressBook?: PeerAddressBook;
  /**
   * When a direct dial fails to connect (a NATed peer), a stream to the peer through a relay
   * (node/overlay-relay.ts); the secure channel then runs over it end to end.
   */
  relayDial?: (publicKey: Uint8Array) => Promise<Socket>;
  /**
   * Between the two: a TCP simultaneous open with the peer, coordinated through a relay
   * (simultaneous-open.ts); a direct path through endpoint-independent NATs.
   */
  punchDial?: (publicKey: Uint8Array) => Promise<Socket>;
}

export interface TcpStreamTransportStats {
  open: number;
  handshakesInProgress: number;
  inboundAccepted: number;
  outboundOpened: number;
  refusedConnectionCap: number;
  refusedHandshakeCap: number;
  handshakeFailures: number;
  /** Simultaneous-dial losers, counted on both sides (the refusing responder and the refused dialer). */
  duplicatesRefused: number;
  replaced: number;
  closed: number;
  /** Our probes the peer answered by proving the expected key, and those that did not. */
  probesProven: number;
  probesFailed: number;
  /** Probes from others that we answered (a signed REPLY each; nothing pooled). */
  probesAnswered: number;
  /** Connections through a splice relay: ones we dialled after a direct dial failed, ones we took. */
  relayedOpened: number;
  relayedAccepted: number;
  /** Direct connections through a simultaneous open: ones we asked for, ones we answered. */
  punchedOpened: number;
  punchedAccepted: number;
  /** Pooled connections by the remote address's family: which family is in use. */
  openByFamily: { v4: number; v6: number };
}
