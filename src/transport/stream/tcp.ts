/**
 * The overlay's stream transport over TCP: a listener and a dialer that produce authenticated
 * connections (channel.ts), and a pool holding at most one connection per peer key.
 *
 * Duplicates. When both sides dial at once, each side's responder decides, by one rule both apply
 * alike, which connection survives: the one initiated by the numerically smaller public key. A
 * responder that would keep its own connection refuses the newcomer with DUPLICATE_REFUSAL; the
 * refused dialer then waits for the peer's connection to reach its pool. A connection older than
 * the handshake timeout is no longer a race: a new dial from the same peer replaces it (the peer
 * evidently lost it). A dialer that waited in vain dials once more with FLAG_REPLACE, which the
 * responder always honours: the proof is signed, so only the key's owner can ask for it.
 */
import { type Server, type Socket, createServer, connect as netConnect } from 'node:net';
import { type Address, addressKey, makeAddress } from '../address.js';
import { AbortError, ClosedError, KadmiumError } from '../../util/errors.js';
import { bytesEqual, compareBytes, toHex } from '../../util/bytes.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { HANDSHAKE_TIMEOUT_MS, secureInitiator, secureProbe, secureResponder } from './channel.js';
import type { SecureConnection } from './connection.js';
import { ConnectionLimitError, DialError, HandshakeError, messageOf } from './errors.js';
import { FLAG_REPLACE, PROBE_ANSWERED } from './handshake-messages.js';
import type { Connection, StreamTransport } from './types.js';
import { raceConnect } from './happy-eyeballs.js';
import { type DialStage, raceAbort, raceStages } from './dial-stages.js';
import { PoolWaiters } from './pool-waiters.js';

export * from './tcp-options.js';
import {
  DUPLICATE_REFUSAL,
  IDLE_CLOSE_MS,
  MAX_CONNECTIONS,
  MAX_HANDSHAKES,
  PUNCH_DIAL_AFTER_MS,
  RELAY_DIAL_AFTER_MS,
  REPLACED_REASON,
  type StreamTransportEvent,
  type TcpStreamTransportOptions,
  type TcpStreamTransportStats,
  TRANSPORT_CLOSING_REASON,
} from './tcp-options.js';

export class TcpStreamTransport implements StreamTransport {
  readonly address: Address;
  private readonly pool = new Map<string, SecureConnection>();
  private readonly dialing = new Map<string, Promise<Connection>>();
  private readonly handshakeSockets = new Set<Socket>();
  private readonly listeners: Array<(conn: Connection) => void> = [];
  /** Dialers refused as duplicates, waiting for the peer's connection to arrive. */
  private readonly poolWaiters: PoolWaiters<SecureConnection>;
  private readonly clock: Clock;
  private readonly handshakeTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxHandshakes: number;
  private isClosed = false;
  private readonly counts = {
    inboundAccepted: 0,
    outboundOpened: 0,
    refusedConnectionCap: 0,
    refusedHandshakeCap: 0,
    handshakeFailures: 0,
    duplicatesRefused: 0,
    replaced: 0,
    closed: 0,
    probesProven: 0,
    probesFailed: 0,
    probesAnswered: 0,
    relayedOpened: 0,
    relayedAccepted: 0,
    punchedOpened: 0,
    punchedAccepted: 0,
  };

  private constructor(
    private readonly server: Server,
    private readonly options: TcpStreamTransportOptions,
  ) {
    const bound = server.address();
    if (!bound || typeof bound === 'string') throw new Error('the TCP server has no IP address');
    this.address = makeAddress(bound.address, bound.port);
    this.clock = options.clock ?? systemClock;
    this.poolWaiters = new PoolWaiters(this.clock);
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.maxHandshakes = options.maxHandshakes ?? MAX_HANDSHAKES;
    server.on('connection', (socket) => this.onInbound(socket));
  }

  /** Listen on host:port (default 127.0.0.1, an ephemeral port) and return the transport. */
  static async listen(options: TcpStreamTransportOptions): Promise<TcpStreamTransport> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new TcpStreamTransport(server, options);
  }

  get publicKey(): Uint8Array {
    return this.options.identity.publicKey;
  }

  stats(): TcpStreamTransportStats {
    const openByFamily = { v4: 0, v6: 0 };
    for (const conn of this.pool.values()) openByFamily[conn.remoteAddress.family === 6 ? 'v6' : 'v4']++;
    return {
      open: this.pool.size,
      handshakesInProgress: this.handshakeSockets.size,
      ...this.counts,
      openByFamily,
    };
  }

  /** The pooled connection to this key, if open. */
  connectionTo(publicKey: Uint8Array): SecureConnection | undefined {
    const conn = this.pool.get(toHex(publicKey));
    return conn && !conn.closed ? conn : undefined;
  }

  onConnection(cb: (conn: Connection) => void): void {
    this.listeners.push(cb);
  }

  connect(address: Address, publicKey: Uint8Array, signal?: AbortSignal): Promise<Connection> {
    if (this.isClosed) return Promise.reject(new ClosedError('the stream transport is closed'));
    if (signal?.aborted) return Promise.reject(new AbortError());
    if (bytesEqual(publicKey, this.publicKey))
      return Promise.reject(
        new KadmiumError('SELF_CONNECT', 'refusing to connect to our own key; drop it from the contact list'),
      );
    const key = toHex(publicKey);
    const pooled = this.pool.get(key);
    if (pooled && !pooled.closed) return Promise.resolve(pooled);
    let dial = this.dialing.get(key);
    if (!dial) {
      const { punchDial, relayDial } = this.options;
      const stages: DialStage[] = [
        {
          start: () => this.dialWithDuplicateRule(address, publicKey, key),
          afterMs: 0,
          fallBackOn: (error) =>
            error instanceof DialError ||
            (error instanceof HandshakeError && error.reason.startsWith('timed out')),
        },
      ];
      if (punchDial)
        stages.push({
          start: () => this.dialVia(address, publicKey, punchDial, 'punchedOpened'),
          afterMs: PUNCH_DIAL_AFTER_MS,
        });
      if (relayDial)
        stages.push({
          start: () => this.dialVia(address, publicKey, relayDial, 'relayedOpened'),
          afterMs: RELAY_DIAL_AFTER_MS,
        });
      dial = stages.length > 1 ? raceStages(stages, this.clock) : (stages[0] as DialStage).start();
      this.dialing.set(key, dial);
      const done = (): void => {
        if (this.dialing.get(key) === dial) this.dialing.delete(key);
      };
      dial.then(done, done);
    }
    return signal ? raceAbort(dial, signal) : dial;
  }

  /**
   * Whether a fresh TCP dial to this address reaches a node that proves this key: a probe
   * handshake (FLAG_PROBE) in which the peer signs our fresh nonce, then both hang up. The
   * connection a peer opened to us proves its key, not that its named port can be dialled (a
   * NATed peer's cannot); this proves both, and pools nothing on either side.
   */
  async probe(address: Address, publicKey: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    if (this.isClosed || signal?.aborted) return false;
    if (this.handshakeSockets.size >= this.maxHandshakes) {
      this.counts.refusedHandshakeCap++;
      return false;
    }
    const socket = netConnect({ host: address.host, port: address.port, noDelay: true });
    this.handshakeSockets.add(socket);
    const onAbort = (): void => void socket.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await secureProbe(socket, { ...this.options, remoteAddress: address, expectedPublicKey: publicKey });
      this.counts.probesProven++;
      return true;
    } catch {
      this.counts.probesFailed++;
      return false;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.handshakeSockets.delete(socket);
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const conn of [...this.pool.values()]) conn.close(TRANSPORT_CLOSING_REASON);
    for (const socket of this.handshakeSockets) socket.destroy();
    this.poolWaiters.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dialWithDuplicateRule(
    address: Address,
    publicKey: Uint8Array,
    key: string,
  ): Promise<Connection> {
    try {
      return await this.dialOnce(address, publicKey, 0);
    } catch (error) {
      if (!(error instanceof HandshakeError) || !error.reason.includes(DUPLICATE_REFUSAL)) throw error;
      this.counts.duplicatesRefused++;
    }
    // The peer keeps the connection it initiated: it is on its way into our pool.
    const pooled = this.pool.get(key);
    const arrived =
      pooled && !pooled.closed ? pooled : await this.poolWaiters.wait(key, this.handshakeTimeoutMs);
    if (arrived) return arrived;
    return this.dialOnce(address, publicKey, FLAG_REPLACE);
  }

  private async dialOnce(address: Address, publicKey: Uint8Array, flags: number): Promise<Connection> {
    if (this.isClosed) throw new ClosedError('the stream transport is closed');
    if (this.pool.size + this.dialing.size >= this.maxConnections) {
      this.counts.refusedConnectionCap++;
      throw new ConnectionLimitError(`already at ${this.maxConnections} connections`);
    }
    if (this.handshakeSockets.size >= this.maxHandshakes) {
      this.counts.refusedHandshakeCap++;
      throw new ConnectionLimitError(`already ${this.maxHandshakes} handshakes in progress`);
    }
    let socket: Socket;
    let connected = false;
    const candidates = this.options.addressBook?.candidates(publicKey, address) ?? [address];
    if (candidates.length > 1) {
      try {
        ({ socket, address } = await raceConnect(candidates, { clock: this.clock }));
      } catch (error) {
        throw new DialError(addressKey(address), error);
      }
      connected = true;
      if (this.isClosed) {
        socket.destroy();
        throw new ClosedError('the stream transport is closed');
      }
    } else {
      socket = netConnect({ host: address.host, port: address.port, noDelay: true });
      socket.once('connect', () => (connected = true));
    }
    this.handshakeSockets.add(socket);
    try {
      const conn = await this.handshakeOut(socket, address, publicKey, flags);
      this.counts.outboundOpened++;
      return conn;
    } catch (error) {
      // A duplicate refusal is the pool's rule working, counted by the caller, not a failure.
      if (!(error instanceof HandshakeError && error.reason.includes(DUPLICATE_REFUSAL)))
        this.counts.handshakeFailures++;
      const reason = messageOf(error);
      this.emit({ type: 'handshake-failed', address, initiator: true, reason });
      if (!connected && !(error instanceof HandshakeError && error.reason.startsWith('timed out')))
        throw new DialError(addressKey(address), error instanceof HandshakeError ? error.reason : error);
      throw error;
    } finally {
      this.handshakeSockets.delete(socket);
    }
  }

  /**
   * A stream to a caller that reached us through a relay (node/overlay-relay.ts): spliced by it,
   * or a simultaneous open it coordinated. Answered like an inbound connection.
   */
  acceptRelayed(socket: Socket, how: 'spliced' | 'punched' = 'spliced'): void {
    this.counts[how === 'spliced' ? 'relayedAccepted' : 'punchedAccepted']++;
    this.onInbound(socket);
  }

  /** Our handshake over a socket a hook opened (a relay's splice, a simultaneous open). */
  private async dialVia(
    address: Address,
    publicKey: Uint8Array,
    open: (publicKey: Uint8Array) => Promise<Socket>,
    counter: 'relayedOpened' | 'punchedOpened',
  ): Promise<Connection> {
    if (this.handshakeSockets.size >= this.maxHandshakes) {
      this.counts.refusedHandshakeCap++;
      throw new ConnectionLimitError(`already ${this.maxHandshakes} handshakes in progress`);
    }
    const socket = await open(publicKey);
    if (this.isClosed) {
      socket.destroy();
      throw new ClosedError('the stream transport is closed');
    }
    this.handshakeSockets.add(socket);
    try {
      const conn = await this.handshakeOut(socket, address, publicKey, 0);
      this.counts[counter]++;
      return conn;
    } finally {
      this.handshakeSockets.delete(socket);
    }
  }

  /** Our side of the handshake on a socket we opened (direct or spliced), then into the pool. */
  private async handshakeOut(
    socket: Socket,
    address: Address,
    publicKey: Uint8Array,
    flags: number,
  ): Promise<SecureConnection> {
    const conn = await secureInitiator(socket, {
      ...this.options,
      remoteAddress: address,
      idleCloseMs: this.options.idleCloseMs ?? IDLE_CLOSE_MS,
      expectedPublicKey: publicKey,
      flags,
    });
    this.adopt(conn);
    return conn;
  }

  private onInbound(socket: Socket): void {
    const address = socketAddress(socket);
    socket.on('error', () => {}); // errors surface through the handshake or the connection
    let refusal: string | undefined;
    if (this.isClosed) refusal = TRANSPORT_CLOSING_REASON;
    else if (this.pool.size + this.dialing.size >= this.maxConnections) {
      this.counts.refusedConnectionCap++;
      refusal = `connection cap of ${this.maxConnections} reached`;
    } else if (this.handshakeSockets.size >= this.maxHandshakes) {
      this.counts.refusedHandshakeCap++;
      refusal = `handshake cap of ${this.maxHandshakes} reached`;
    }
    if (refusal !== undefined) {
      socket.destroy();
      this.emit({ type: 'refused', address, reason: refusal });
      return;
    }
    socket.setNoDelay(true);
    this.handshakeSockets.add(socket);
    secureResponder(socket, {
      ...this.options,
      remoteAddress: address,
      idleCloseMs: this.options.idleCloseMs ?? IDLE_CLOSE_MS,
      beforeAccept: (publicKey, flags) => this.beforeAccept(publicKey, flags),
    }).then(
      (conn) => {
        this.handshakeSockets.delete(socket);
        this.counts.inboundAccepted++;
        this.adopt(conn);
      },
      (error: unknown) => {
        this.handshakeSockets.delete(socket);
        if (error instanceof HandshakeError && error.reason === PROBE_ANSWERED) {
          this.counts.probesAnswered++;
          return;
        }
        if (error instanceof HandshakeError && error.reason === DUPLICATE_REFUSAL)
          this.counts.duplicatesRefused++;
        else this.counts.handshakeFailures++;
        this.emit({ type: 'handshake-failed', address, initiator: false, reason: messageOf(error) });
      },
    );
  }

  /** The responder's duplicate rule (see the file comment); a string refuses the newcomer. */
  private beforeAccept(publicKey: Uint8Array, flags: number): string | undefined {
    if (this.isClosed) return TRANSPORT_CLOSING_REASON;
    if (bytesEqual(publicKey, this.publicKey)) return 'a node may not connect to its own key';
    if ((flags & FLAG_REPLACE) !== 0) return undefined;
    const key = toHex(publicKey);
    const weAreSmaller = compareBytes(this.publicKey, publicKey) < 0;
    const existing = this.pool.get(key);
    if (existing && !existing.closed) {
      const racing = this.clock.now() - existing.openedAtMs < this.handshakeTimeoutMs;
      // Ours wins only if we initiated it with the smaller key while a race is still plausible.
      if (racing && existing.initiator && weAreSmaller) return DUPLICATE_REFUSAL;
      return undefined;
    }
    if (this.dialing.has(key) && weAreSmaller) return DUPLICATE_REFUSAL;
    return undefined;
  }

  /** Put a proven connection in the pool, replacing any other to the same key; tell listeners. */
  private adopt(conn: SecureConnection): void {
    const key = toHex(conn.remotePublicKey);
    if (this.isClosed) {
      conn.close(TRANSPORT_CLOSING_REASON);
      return;
    }
    const existing = this.pool.get(key);
    this.pool.set(key, conn);
    if (existing && existing !== conn && !existing.closed) {
      this.counts.replaced++;
      existing.close(REPLACED_REASON);
    }
    conn.onClose((reason) => {
      this.counts.closed++;
      if (this.pool.get(key) === conn) this.pool.delete(key);
      this.emit({ type: 'close', peer: key, address: conn.remoteAddress, initiator: conn.initiator, reason });
    });
    this.emit({ type: 'open', peer: key, address: conn.remoteAddress, initiator: conn.initiator });
    for (const cb of this.listeners) cb(conn);
    this.poolWaiters.arrive(key, conn);
  }

  private emit(event: StreamTransportEvent): void {
    this.options.onEvent?.(event);
  }
}

function socketAddress(socket: Socket): Address {
  const host = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '0.0.0.0';
  try {
    return makeAddress(host, socket.remotePort ?? 0);
  } catch {
    return { host: '0.0.0.0', port: 0, family: 4 };
  }
}
