/**
 * A transport moves datagrams and nothing else: no parsing, no retries. The node gets one injected,
 * so the same code runs over real UDP and over the simulator's in-memory network.
 */
import type { Address } from './address.js';

export type DatagramHandler = (data: Uint8Array, from: Address) => void;

export interface Transport {
  /** The local address, once bound. */
  readonly address: Address;
  /** Send one datagram. Never throws; send failures are reported through onError. */
  send(data: Uint8Array, to: Address): void;
  /** The one receiver of inbound datagrams. */
  onMessage(handler: DatagramHandler): void;
  /** Non-fatal transport problems (unreachable host, send buffer full). */
  onError(handler: (err: Error) => void): void;
  close(): Promise<void>;
}
