/**
 * The relay's rendezvous: where peers behind NAT wait to be called, and where two peers meet.
 * A listener keeps one control connection open, opened with LISTEN ‖ its public key, and proves
 * the key: the relay sends a fresh nonce and registers the listener only once it signs it
 * (listenDigest). So nobody can register under, or displace, a key it does not hold. A caller
 * then opens with CALL ‖ key (the relay draws a fresh circuit id, parks the caller under it and
 * tells the listener, who joins with dialSplice) or PUNCH ‖ key (the relay tells the listener
 * the caller's endpoint as it sees it; the listener answers on a fresh connection, and the relay
 * hands each side the other's endpoint at the same moment: both then connect to each other from
 * the port they reached the relay from, a TCP simultaneous open through endpoint-independent
 * NATs; simultaneous-open.ts). The wire format is in rendezvous-wire.ts.
 *
 * The relay never learns more than the key asked for: the secure channel then runs end to end
 * and proves that key.
 */
import type { Socket } from 'node:net';
import { toHex } from '../../util/bytes.js';
import type { Clock, Timer } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import {
  CHALLENGE_BYTES,
  encodeEndpoint,
  ID_BYTES,
  LISTEN_OPENING,
  LISTEN_SIGNATURE_BYTES,
  listenDigest,
  MSG_CIRCUIT,
  MSG_PUNCH,
  PUNCH_OPENING,
  remoteEndpoint,
} from './rendezvous-wire.js';
import type { VerifyDigest } from './types.js';

/** Keys waiting to be called on one relay, and per listener IP. */
export const MAX_RENDEZVOUS_LISTENERS = 256;
export const MAX_LISTENERS_PER_HOST = 4;
/** Listeners still to sign our nonce, and how long one may take. */
export const MAX_UNPROVEN_LISTENERS = 64;
export const LISTEN_PROOF_TIMEOUT_MS = 5_000;
/** Punches waiting for the listener's answer, per caller IP, and how long one waits. */
export const MAX_PENDING_PUNCHES = 64;
export const MAX_PUNCHES_PER_HOST = 4;
export const PUNCH_ANSWER_TIMEOUT_MS = 5_000;
/**
 * TCP keep-alive on the control connection: well under the 2-minute NAT TCP mapping timeouts seen
 * in the wild (RFC 5382 asks for at least 2 h 4 min, many home routers keep far less).
 */
export const CONTROL_KEEPALIVE_MS = 30_000;

export interface RendezvousStats {
  /** Proven listeners waiting to be called. */
  listeners: number;
  calls: number;
  /** Punches both sides reached (each then got the other's endpoint). */
  punches: number;
  /** LISTENs refused: a bad or missing signature, a full table, too many from one IP. */
  listensRefused: number;
}

interface PendingPunch {
  socket: Socket;
  host: string;
  timer: Timer;
}

export class SpliceRendezvous {
  private readonly listeners = new Map<string, Socket>();
  private readonly punches = new Map<string, PendingPunch>();
  private unproven = 0;
  calls = 0;
  punchesJoined = 0;
  listensRefused = 0;

  constructor(
    private readonly clock: Clock,
    private readonly random: Random,
    /** Checks a listener's signature; without it the relay registers nobody (it only splices). */
    private readonly verify: VerifyDigest | undefined,
    /** Park the caller under the circuit id (the relay's pending table); false if refused. */
    private readonly park: (socket: Socket, id: string, rest: Uint8Array) => boolean,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  stats(): RendezvousStats {
    return {
      listeners: this.listeners.size,
      calls: this.calls,
      punches: this.punchesJoined,
      listensRefused: this.listensRefused,
    };
  }

  /**
   * Handle a LISTEN, CALL or PUNCH opening (`body` is the key); `rest` is what the peer sent after
   * it. False refuses (the relay closes the socket).
   */
  accept(socket: Socket, kind: number | undefined, body: Uint8Array, rest: Uint8Array): boolean {
    const hex = toHex(body);
    if (kind === LISTEN_OPENING) return this.challenge(socket, body, hex, rest);
    const listener = this.listeners.get(hex);
    if (!listener || listener.destroyed) return false;
    if (kind === PUNCH_OPENING) return this.punch(socket, listener);
    const id = this.random.bytes(ID_BYTES);
    if (!this.park(socket, toHex(id), rest)) return false;
    this.calls++;
    listener.write(message(MSG_CIRCUIT, id));
    return true;
  }

  /** A PUNCH_ANSWER opening (`id` the circuit): hand both sides the other's endpoint. */
  answer(socket: Socket, id: Uint8Array): boolean {
    const hex = toHex(id);
    const caller = this.punches.get(hex);
    const callerAt = remoteEndpoint(caller?.socket.remoteAddress, caller?.socket.remotePort);
    const answerAt = remoteEndpoint(socket.remoteAddress, socket.remotePort);
    if (!caller || !callerAt || !answerAt) return false;
    this.punches.delete(hex);
    caller.timer.cancel();
    this.punchesJoined++;
    // Both writes leave in the same tick: the agreed moment to dial. Each side also learns its
    // own endpoint (so it knows whether a NAT stands in front of it). end() frees the relay.
    caller.socket.end(concat(encodeEndpoint(answerAt), encodeEndpoint(callerAt)));
    socket.on('error', () => {});
    socket.end(concat(encodeEndpoint(callerAt), encodeEndpoint(answerAt)));
    return true;
  }

  close(): void {
    for (const s of this.listeners.values()) s.destroy();
    this.listeners.clear();
    for (const p of this.punches.values()) {
      p.timer.cancel();
      p.socket.destroy();
    }
    this.punches.clear();
  }

  private punch(socket: Socket, listener: Socket): boolean {
    const host = socket.remoteAddress ?? '';
    const at = remoteEndpoint(socket.remoteAddress, socket.remotePort);
    if (!at || this.punches.size >= MAX_PENDING_PUNCHES) return false;
    let mine = 0;
    for (const p of this.punches.values()) if (p.host === host) mine++;
    if (mine >= MAX_PUNCHES_PER_HOST) return false;
    const id = this.random.bytes(ID_BYTES);
    const hex = toHex(id);
    const timer = this.clock.setTimeout(() => {
      if (this.punches.get(hex)?.socket === socket) this.punches.delete(hex);
      socket.destroy();
    }, PUNCH_ANSWER_TIMEOUT_MS);
    this.punches.set(hex, { socket, host, timer });
    socket.on('close', () => {
      if (this.punches.get(hex)?.socket !== socket) return;
      timer.cancel();
      this.punches.delete(hex);
    });
    listener.write(message(MSG_PUNCH, id, encodeEndpoint(at)));
    return true;
  }

  /** Ask a would-be listener to sign a fresh nonce; register it only if the signature holds. */
  private challenge(socket: Socket, key: Uint8Array, hex: string, rest: Uint8Array): boolean {
    const verify = this.verify;
    if (!verify || this.unproven >= MAX_UNPROVEN_LISTENERS || !this.hasRoom(socket, hex)) {
      this.listensRefused++;
      return false;
    }
    this.unproven++;
    const nonce = this.random.bytes(CHALLENGE_BYTES);
    let pending = Buffer.from(rest);
    let done = false;
    const settle = (): void => {
      done = true;
      this.unproven--;
      timer.cancel();
      socket.off('data', onData);
    };
    const refuse = (): void => {
      if (done) return;
      settle();
      this.listensRefused++;
      socket.destroy();
    };
    const timer = this.clock.setTimeout(refuse, LISTEN_PROOF_TIMEOUT_MS);
    const onData = (chunk?: Buffer): void => {
      if (chunk) pending = Buffer.concat([pending, chunk]);
      if (pending.length < LISTEN_SIGNATURE_BYTES) return;
      const signature = pending.subarray(0, LISTEN_SIGNATURE_BYTES);
      if (!verify(key, listenDigest(nonce, key), signature) || !this.hasRoom(socket, hex)) return refuse();
      settle();
      this.register(socket, hex);
    };
    socket.on('data', onData);
    socket.on('close', refuse);
    socket.write(nonce);
    socket.resume();
    // A signature sent with the opening cannot be over this nonce; it is checked (and refused) now.
    onData();
    return true;
  }

  private hasRoom(socket: Socket, hex: string): boolean {
    const old = this.listeners.get(hex);
    const host = socket.remoteAddress ?? '';
    let mine = 0;
    for (const s of this.listeners.values()) if (s.remoteAddress === host && s !== old) mine++;
    if (mine >= MAX_LISTENERS_PER_HOST) return false;
    return old !== undefined || this.listeners.size < MAX_RENDEZVOUS_LISTENERS;
  }

  private register(socket: Socket, hex: string): void {
    // The newer proven registration wins: the key's owner reconnected (its NAT mapping changed).
    const old = this.listeners.get(hex);
    if (old !== socket) old?.destroy();
    this.listeners.set(hex, socket);
    socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS);
    socket.on('data', () => {}); // nothing more is expected from the listener; drain it
    socket.on('close', () => {
      if (this.listeners.get(hex) === socket) this.listeners.delete(hex);
    });
  }
}

function message(type: number, id: Uint8Array, tail?: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + id.length + (tail?.length ?? 0));
  out[0] = type;
  out.set(id, 1);
  if (tail) out.set(tail, 1 + id.length);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
