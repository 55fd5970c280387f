/**
 * Agreeing a splice circuit through the relay itself. A peer that cannot be dialled (behind NAT)
 * keeps one control connection open to the relay, opened with LISTEN_OPENING ‖ its public key. A
 * caller opens with CALL_OPENING ‖ that key; the relay draws a fresh CIRCUIT_ID_BYTES id, parks
 * the caller under it and writes the id down the control connection; the listener dials the relay
 * with the id (dialSplice) and the two are spliced. The relay never learns more than the key
 * asked for: the secure channel then runs end to end and proves that key (a relay, or anyone who
 * registered under a key it does not hold, cannot complete the handshake).
 */
import { type Socket, connect as netConnect } from 'node:net';
import type { Address } from '../address.js';
import { toHex } from '../../util/bytes.js';
import type { Clock, Timer } from '../../util/clock.js';
import { KadmiumError } from '../../util/errors.js';
import type { Random } from '../../util/random.js';

export const LISTEN_OPENING = 2;
export const CALL_OPENING = 3;
const KEY_BYTES = 33;
const ID_BYTES = 16;
export const OPENING_BYTES = 1 + KEY_BYTES;
/** Keys waiting to be called on one relay, and per listener IP. */
export const MAX_RENDEZVOUS_LISTENERS = 256;
export const MAX_LISTENERS_PER_HOST = 4;
/** A listener whose control connection dropped registers again after this. */
export const REREGISTER_MS = 5_000;
/** Circuits a listener joins at once; ids beyond this (a relay gone wrong) are ignored. */
export const MAX_JOINS_IN_FLIGHT = 8;
/**
 * TCP keep-alive on the control connection: well under the 2-minute NAT TCP mapping timeouts seen
 * in the wild (RFC 5382 asks for at least 2 h 4 min, many home routers keep far less).
 */
export const CONTROL_KEEPALIVE_MS = 30_000;

export class SpliceRendezvous {
  private readonly listeners = new Map<string, Socket>();
  calls = 0;

  constructor(
    private readonly random: Random,
    /** Park the caller under the circuit id (the relay's pending table); false if refused. */
    private readonly park: (socket: Socket, id: string, rest: Uint8Array) => boolean,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /**
   * Handle a LISTEN or CALL opening; `rest` is what the caller sent after it (its handshake may
   * follow at once). False refuses (the relay closes the socket).
   */
  accept(socket: Socket, kind: number | undefined, key: Uint8Array, rest: Uint8Array): boolean {
    const hex = toHex(key);
    if (kind === LISTEN_OPENING) return this.listen(socket, hex);
    const listener = this.listeners.get(hex);
    if (!listener || listener.destroyed) return false;
    const id = this.random.bytes(ID_BYTES);
    if (!this.park(socket, toHex(id), rest)) return false;
    this.calls++;
    listener.write(id);
    return true;
  }

  close(): void {
    for (const s of this.listeners.values()) s.destroy();
    this.listeners.clear();
  }

  private listen(socket: Socket, hex: string): boolean {
    const old = this.listeners.get(hex);
    const host = socket.remoteAddress ?? '';
    let mine = 0;
    for (const s of this.listeners.values()) if (s.remoteAddress === host && s !== old) mine++;
    if (mine >= MAX_LISTENERS_PER_HOST) return false;
    if (!old && this.listeners.size >= MAX_RENDEZVOUS_LISTENERS) return false;
    // The newer registration wins: the peer reconnected (its NAT mapping changed).
    old?.destroy();
    this.listeners.set(hex, socket);
    socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS);
    socket.on('data', () => {}); // nothing is expected from the listener; drain it
    socket.on('close', () => {
      if (this.listeners.get(hex) === socket) this.listeners.delete(hex);
    });
    socket.resume();
    return true;
  }
}

function opening(kind: number, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== KEY_BYTES)
    throw new KadmiumError('SPLICE_KEY', `a public key is ${KEY_BYTES} bytes, got ${publicKey.length}`);
  return Uint8Array.from([kind, ...publicKey]);
}

/** Open a stream to `publicKey` through the relay (it must be registered there). */
export function callViaRelay(relay: Address, publicKey: Uint8Array): Promise<Socket> {
  const first = opening(CALL_OPENING, publicKey);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: relay.host, port: relay.port, noDelay: true }, () => {
      socket.off('error', reject);
      socket.write(first);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export interface RelayRegistration {
  /** Circuits this registration has joined. */
  readonly joined: number;
  close(): void;
}

/**
 * Wait at `relay` to be called as `publicKey`: every circuit id the relay sends is joined with
 * dialSplice and the spliced socket handed to onCircuit (the pool's responder side takes it).
 * Re-registers REREGISTER_MS after the control connection drops, until closed.
 */
export function registerWithRelay(
  relay: Address,
  publicKey: Uint8Array,
  clock: Clock,
  join: (id: Uint8Array) => Promise<Socket>,
  onCircuit: (socket: Socket) => void,
): RelayRegistration {
  const first = opening(LISTEN_OPENING, publicKey);
  let closed = false;
  let control: Socket | undefined;
  let retry: Timer | undefined;
  let joining = 0;
  const state = {
    joined: 0,
    close() {
      closed = true;
      retry?.cancel();
      control?.destroy();
    },
  };
  const connect = (): void => {
    if (closed) return;
    let pending = Buffer.alloc(0);
    const socket = netConnect({ host: relay.host, port: relay.port, noDelay: true }, () =>
      socket.write(first),
    );
    control = socket;
    socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= ID_BYTES) {
        const id = Uint8Array.from(pending.subarray(0, ID_BYTES));
        pending = pending.subarray(ID_BYTES);
        if (joining >= MAX_JOINS_IN_FLIGHT) continue;
        joining++;
        join(id).then(
          (s) => {
            joining--;
            state.joined++;
            if (closed) s.destroy();
            else onCircuit(s);
          },
          () => joining--, // the caller gives up after SPLICE_PAIR_TIMEOUT_MS; nothing to undo here
        );
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!closed) retry = clock.setTimeout(connect, REREGISTER_MS);
    });
  };
  connect();
  return state;
}
