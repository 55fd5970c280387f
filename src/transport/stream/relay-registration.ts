/**
 * A peer's side of a splice relay's rendezvous (splice-rendezvous.ts): waiting at a relay to be
 * called, proving the key it waits under, and calling another peer through it.
 */
import { type Socket, connect as netConnect } from 'node:net';
import type { Address } from '../address.js';
import type { Clock, Timer } from '../../util/clock.js';
import {
  CALL_OPENING,
  CHALLENGE_BYTES,
  endpointLength,
  ID_BYTES,
  LISTEN_OPENING,
  listenDigest,
  MSG_CIRCUIT,
  MSG_PUNCH,
  opening,
} from './rendezvous-wire.js';
import { CONTROL_KEEPALIVE_MS } from './splice-rendezvous.js';
import type { ChannelIdentity } from './types.js';

/** A listener whose control connection dropped registers again after this. */
export const REREGISTER_MS = 5_000;
/** Circuits and punches a listener joins at once; more (a relay gone wrong) are ignored. */
export const MAX_JOINS_IN_FLIGHT = 8;

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
  /** Simultaneous opens this registration answered that connected. */
  readonly punched: number;
  close(): void;
}

export interface RegistrationHooks {
  /** Join a splice circuit (dialSplice). */
  join(id: Uint8Array): Promise<Socket>;
  /** Answer a punch (simultaneous-open.ts answerPunch); absent: punches are ignored. */
  answerPunch?(id: Uint8Array): Promise<Socket>;
  /** A socket to a caller (spliced or punched): the pool's responder side takes it. */
  onSocket(socket: Socket, how: 'spliced' | 'punched'): void;
}

/**
 * Wait at `relay` to be called as `identity`'s key: sign the relay's nonce, then take every
 * circuit and punch it announces. Re-registers REREGISTER_MS after the control connection drops,
 * until closed.
 */
export function registerWithRelay(
  relay: Address,
  identity: ChannelIdentity,
  clock: Clock,
  hooks: RegistrationHooks,
): RelayRegistration {
  const first = opening(LISTEN_OPENING, identity.publicKey);
  let closed = false;
  let control: Socket | undefined;
  let retry: Timer | undefined;
  let joining = 0;
  const state = {
    joined: 0,
    punched: 0,
    close() {
      closed = true;
      retry?.cancel();
      control?.destroy();
    },
  };
  const take = (start: () => Promise<Socket>, how: 'spliced' | 'punched'): void => {
    if (joining >= MAX_JOINS_IN_FLIGHT) return;
    joining++;
    start().then(
      (s) => {
        joining--;
        if (how === 'spliced') state.joined++;
        else state.punched++;
        if (closed) s.destroy();
        else hooks.onSocket(s, how);
      },
      () => joining--, // the caller gives up in its own time; nothing to undo here
    );
  };
  const connect = (): void => {
    if (closed) return;
    let pending = Buffer.alloc(0);
    let proven = false;
    const socket = netConnect({ host: relay.host, port: relay.port, noDelay: true }, () =>
      socket.write(first),
    );
    control = socket;
    socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!proven) {
        if (pending.length < CHALLENGE_BYTES) return;
        const nonce = pending.subarray(0, CHALLENGE_BYTES);
        socket.write(identity.signDigest(listenDigest(nonce, identity.publicKey)));
        pending = pending.subarray(CHALLENGE_BYTES);
        proven = true;
      }
      for (;;) {
        const type = pending[0];
        if (type === undefined) return;
        if (type !== MSG_CIRCUIT && type !== MSG_PUNCH) return void socket.destroy();
        const tail = type === MSG_PUNCH ? endpointLength(pending, 1 + ID_BYTES) : 0;
        if (pending.length > 1 + ID_BYTES && tail === undefined) return void socket.destroy();
        const length = 1 + ID_BYTES + (tail ?? 0);
        if (tail === undefined || pending.length < length) return;
        const id = Uint8Array.from(pending.subarray(1, 1 + ID_BYTES));
        pending = pending.subarray(length);
        const answerPunch = hooks.answerPunch;
        if (type === MSG_CIRCUIT) take(() => hooks.join(id), 'spliced');
        else if (answerPunch) take(() => answerPunch(id), 'punched');
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
