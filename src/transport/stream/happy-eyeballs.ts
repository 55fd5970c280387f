/**
 * IPv6 first, without waiting on a broken IPv6 path (Happy Eyeballs, RFC 8305 §5): a peer known
 * at several addresses is dialled at its IPv6 address first; each further attempt starts when
 * the one before has failed or HAPPY_EYEBALLS_DELAY_MS has passed, whichever comes first. The
 * first socket to connect wins and the others are destroyed. Families alternate (v6, v4, v6, ...)
 * so one dead family never holds up the other for more than one delay.
 */
import { type Socket, connect as netConnect } from 'node:net';
import { type Address, addressKey } from '../address.js';
import type { Clock } from '../../util/clock.js';
import { KadmiumError } from '../../util/errors.js';

/** RFC 8305's recommended "Connection Attempt Delay": long enough for a healthy v6 SYN-ACK. */
export const HAPPY_EYEBALLS_DELAY_MS = 250;
/** Addresses tried per dial; a peer with more is trimmed (the book keeps at most this many). */
export const MAX_DIAL_CANDIDATES = 4;
/** One attempt that neither connects nor fails within this is given up. */
export const ATTEMPT_TIMEOUT_MS = 10_000;

export class NoPathError extends KadmiumError {
  constructor(tried: readonly Address[], reasons: readonly string[]) {
    super(
      'NO_PATH',
      `no address of the peer accepted a TCP connection (${tried.map(addressKey).join(', ')}: ` +
        `${reasons.join('; ')}); check that it listens and that a route exists`,
    );
  }
}

/** v6 first, families alternating, duplicates dropped, at most MAX_DIAL_CANDIDATES. */
export function orderCandidates(addresses: readonly Address[]): Address[] {
  const seen = new Set<string>();
  const v6: Address[] = [];
  const v4: Address[] = [];
  for (const a of addresses) {
    const key = addressKey(a);
    if (seen.has(key)) continue;
    seen.add(key);
    (a.family === 6 ? v6 : v4).push(a);
  }
  const out: Address[] = [];
  for (let i = 0; out.length < MAX_DIAL_CANDIDATES && (i < v6.length || i < v4.length); i++) {
    if (i < v6.length) out.push(v6[i] as Address);
    if (i < v4.length && out.length < MAX_DIAL_CANDIDATES) out.push(v4[i] as Address);
  }
  return out;
}

export interface RaceOptions {
  clock: Clock;
  delayMs?: number;
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
  /** Opens one socket; tests replace it. */
  open?: (address: Address) => Socket;
}

export interface RaceResult {
  socket: Socket;
  address: Address;
  /** Attempts started, the winner included. */
  attempts: number;
}

/** Connect to the first of `candidates` (already ordered) that answers, Happy-Eyeballs style. */
export function raceConnect(candidates: readonly Address[], options: RaceOptions): Promise<RaceResult> {
  const delayMs = options.delayMs ?? HAPPY_EYEBALLS_DELAY_MS;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const open = options.open ?? ((a: Address) => netConnect({ host: a.host, port: a.port, noDelay: true }));
  return new Promise<RaceResult>((resolve, reject) => {
    const live = new Set<Socket>();
    const reasons: string[] = [];
    const tried: Address[] = [];
    let next = 0;
    let settled = false;
    let stagger: { cancel(): void } | undefined;
    const finish = (winner?: RaceResult, error?: Error): void => {
      if (settled) return;
      settled = true;
      stagger?.cancel();
      options.signal?.removeEventListener('abort', onAbort);
      for (const s of live) if (s !== winner?.socket) s.destroy();
      live.clear();
      if (winner) resolve(winner);
      else reject(error ?? new NoPathError(tried, reasons));
    };
    const onAbort = (): void => finish(undefined, new KadmiumError('ABORTED', 'the dial was aborted'));
    const startNext = (): void => {
      stagger?.cancel();
      stagger = undefined;
      if (settled) return;
      if (next >= candidates.length) {
        if (live.size === 0) finish();
        return;
      }
      const address = candidates[next++] as Address;
      tried.push(address);
      const socket = open(address);
      live.add(socket);
      const timeout = options.clock.setTimeout(
        () => socket.destroy(new Error('timed out')),
        attemptTimeoutMs,
      );
      socket.once('connect', () => {
        timeout.cancel();
        socket.removeAllListeners('error');
        socket.on('error', () => {}); // later errors surface through the handshake
        finish({ socket, address, attempts: tried.length });
      });
      socket.once('error', (err: Error) => {
        timeout.cancel();
        live.delete(socket);
        reasons.push(`${addressKey(address)}: ${err.message}`);
        startNext(); // a failure starts the next attempt at once
      });
      socket.once('close', () => {
        timeout.cancel();
        if (live.delete(socket)) {
          reasons.push(`${addressKey(address)}: closed`);
          startNext();
        }
      });
      if (next < candidates.length) stagger = options.clock.setTimeout(startNext, delayMs);
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    startNext();
  });
}
