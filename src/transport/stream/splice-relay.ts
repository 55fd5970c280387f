/**
 * A stream relay for the overlay over NAT: two peers that cannot reach each other both dial a
 * public node and name the same circuit; the relay splices the two TCP connections byte for byte.
 * The overlay's secure channel then runs end to end over the spliced stream: the relay sees only
 * the handshake's public parts and ChaCha20-Poly1305 records, and any byte it alters fails a
 * signature or a tag (test/transport/stream/splice-relay.test.ts shows both).
 *
 * Each side opens with SPLICE_VERSION and a CIRCUIT_ID_BYTES id (agreed out of band, e.g. through
 * a rendezvous). Bounded: pending and active splices, the wait for a partner, the bytes one
 * splice may carry, and pending connections per IP.
 */
import { type Server, type Socket, createServer, connect as netConnect } from 'node:net';
import { type Address, makeAddress } from '../address.js';
import { type Clock, systemClock, type Timer } from '../../util/clock.js';
import { toHex } from '../../util/bytes.js';
import { KadmiumError } from '../../util/errors.js';
import { type Random, systemRandom } from '../../util/random.js';
import { SpliceRendezvous } from './splice-rendezvous.js';
import {
  CALL_OPENING,
  ID_OPENING_BYTES,
  LISTEN_OPENING,
  OPENING_BYTES,
  PUNCH_ANSWER_OPENING,
  PUNCH_OPENING,
} from './rendezvous-wire.js';
import type { VerifyDigest } from './types.js';

export const SPLICE_VERSION = 1;
export const CIRCUIT_ID_BYTES = 16;
/** Splices waiting for a partner plus splices running. */
export const MAX_SPLICES = 64;
/** Connections waiting for a partner from one IP. */
export const MAX_PENDING_PER_HOST = 4;
/** How long the first side waits for its partner, and for its own opening bytes. */
export const SPLICE_PAIR_TIMEOUT_MS = 10_000;
/** Bytes one splice may carry, both ways together, before the relay closes it. */
export const SPLICE_MAX_BYTES = 64 * 1024 * 1024;

export interface SpliceRelayStats {
  pending: number;
  active: number;
  spliced: number;
  refused: number;
  bytes: number;
}

interface Pending {
  socket: Socket;
  host: string;
  timer: Timer;
}

export class SpliceRelay {
  private server: Server | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly active = new Set<Socket>();
  readonly stats: SpliceRelayStats = { pending: 0, active: 0, spliced: 0, refused: 0, bytes: 0 };
  /** Peers behind NAT that wait here to be called (splice-rendezvous.ts). */
  readonly rendezvous: SpliceRendezvous;

  constructor(
    private readonly clock: Clock = systemClock,
    random: Random = systemRandom,
    /** Checks listeners' proofs of their keys; without it nobody can wait here to be called. */
    verify?: VerifyDigest,
  ) {
    this.rendezvous = new SpliceRendezvous(clock, random, verify, (socket, id, rest) =>
      this.park(socket, id, rest),
    );
  }

  async listen(host = '127.0.0.1', port = 0): Promise<Address> {
    if (this.server) throw new KadmiumError('SPLICE_LISTENING', 'this relay listens already; close it first');
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const a = server.address();
    if (!a || typeof a === 'string') throw new KadmiumError('SPLICE_LISTEN', 'the relay has no TCP address');
    return makeAddress(a.address, a.port);
  }

  close(): Promise<void> {
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.socket.destroy();
    }
    this.pending.clear();
    this.rendezvous.close();
    for (const s of this.active) s.destroy();
    this.active.clear();
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private accept(socket: Socket): void {
    const refuse = () => {
      this.stats.refused++;
      socket.destroy();
    };
    if (this.pending.size + this.active.size / 2 >= MAX_SPLICES) return refuse();
    let opening = Buffer.alloc(0);
    const timer = this.clock.setTimeout(refuse, SPLICE_PAIR_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      opening = Buffer.concat([opening, chunk]);
      const kind = opening[0];
      const rendezvous = kind === LISTEN_OPENING || kind === CALL_OPENING || kind === PUNCH_OPENING;
      if (opening.length < (rendezvous ? OPENING_BYTES : ID_OPENING_BYTES)) return;
      socket.off('data', onData);
      socket.pause();
      timer.cancel();
      if (kind === PUNCH_ANSWER_OPENING) {
        if (!this.rendezvous.answer(socket, opening.subarray(1, ID_OPENING_BYTES))) refuse();
        return;
      }
      if (rendezvous) {
        const ok = this.rendezvous.accept(
          socket,
          kind,
          opening.subarray(1, OPENING_BYTES),
          opening.subarray(OPENING_BYTES),
        );
        if (!ok) refuse();
        else this.stats.pending = this.pending.size;
        return;
      }
      if (opening[0] !== SPLICE_VERSION) return refuse();
      const id = toHex(opening.subarray(1, 1 + CIRCUIT_ID_BYTES));
      const rest = opening.subarray(1 + CIRCUIT_ID_BYTES);
      const partner = this.pending.get(id);
      if (partner) {
        this.pending.delete(id);
        partner.timer.cancel();
        this.splice(partner.socket, socket, rest);
      } else if (!this.park(socket, id, rest)) return refuse();
      this.stats.pending = this.pending.size;
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => timer.cancel());
  }

  /** Wait for the partner naming circuit `id`; false when the sender's IP waits too often already. */
  private park(socket: Socket, id: string, rest: Uint8Array): boolean {
    const host = socket.remoteAddress ?? '';
    let mine = 0;
    for (const p of this.pending.values()) if (p.host === host) mine++;
    if (mine >= MAX_PENDING_PER_HOST || this.pending.has(id)) return false;
    if (rest.length > 0) socket.unshift(rest);
    const wait = this.clock.setTimeout(() => {
      this.pending.delete(id);
      this.stats.refused++;
      socket.destroy();
    }, SPLICE_PAIR_TIMEOUT_MS);
    this.pending.set(id, { socket, host, timer: wait });
    this.stats.pending = this.pending.size;
    return true;
  }

  private splice(a: Socket, b: Socket, early: Uint8Array): void {
    this.active.add(a);
    this.active.add(b);
    this.stats.spliced++;
    this.stats.active = this.active.size / 2;
    let carried = early.length;
    this.stats.bytes += early.length;
    const end = () => {
      a.destroy();
      b.destroy();
      this.active.delete(a);
      this.active.delete(b);
      this.stats.active = this.active.size / 2;
    };
    const pipe = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        carried += chunk.length;
        this.stats.bytes += chunk.length;
        if (carried > SPLICE_MAX_BYTES) return end();
        // Backpressure: a slow reader slows the writer instead of filling our memory.
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('close', end);
      from.on('error', end);
    };
    if (early.length > 0) a.write(early);
    pipe(a, b);
    pipe(b, a);
    a.resume();
    b.resume();
  }
}

/** Dial a splice relay and join `circuitId`: the socket carries the partner's bytes from then on. */
export function dialSplice(relay: Address, circuitId: Uint8Array): Promise<Socket> {
  if (circuitId.length !== CIRCUIT_ID_BYTES)
    throw new KadmiumError('SPLICE_ID', `a circuit id is ${CIRCUIT_ID_BYTES} bytes, got ${circuitId.length}`);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: relay.host, port: relay.port }, () => {
      socket.off('error', reject);
      socket.write(Uint8Array.from([SPLICE_VERSION, ...circuitId]));
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
