/**
 * Stream connections inside one process, on any clock: the simulator's network for the overlay,
 * and the test bed for everything above the secure channel. The network vouches for each end's
 * key (the handshake's job on TCP), delivers bodies in order after a per-link latency, and models
 * NAT the way it matters for TCP: a node that is not reachable can dial out, and is reached only
 * over a connection it opened.
 */
import type { Address } from '../address.js';
import { addressKey } from '../address.js';
import type { Clock, Timer } from '../../util/clock.js';
import { ClosedError, KadmiumError } from '../../util/errors.js';
import { bytesEqual, bytesToBinaryString } from '../../util/bytes.js';
import type { Connection, StreamTransport } from './types.js';

export interface MemoryStreamNetworkOptions {
  clock: Clock;
  /** One-way delay between two addresses, ms (default 1). */
  latencyMs?: (from: Address, to: Address) => number;
  /**
   * Close a pooled connection after this long with nothing sent either way, as TCP's pool does
   * (IDLE_CLOSE_MS); 0 or undefined keeps connections until a side closes. The simulator turns it
   * on: without it a node ends up holding a connection to everyone it ever asked.
   */
  idleCloseMs?: number;
  /**
   * A dial that finds nobody (a departed node, or one behind a NAT) gets no answer and fails
   * after this long, as a dropped SYN runs into the TCP pool's handshake timeout. Undefined: it is
   * refused after one round trip, as by a host that answers with a reset.
   */
  silentDialMs?: number;
}

export class MemoryStreamNetwork {
  private readonly listeners = new Map<string, MemoryStreamTransport>();
  /** Connections opened so far, for reports. */
  connections = 0;

  constructor(readonly options: MemoryStreamNetworkOptions) {}

  /** A transport for a node with this key at this address. `reachable: false` models a NAT. */
  listen(
    publicKey: Uint8Array,
    address: Address,
    options: { reachable?: boolean } = {},
  ): MemoryStreamTransport {
    const transport = new MemoryStreamTransport(this, publicKey, address, options.reachable ?? true);
    this.listeners.set(addressKey(address), transport);
    return transport;
  }

  /** @internal */
  lookup(address: Address): MemoryStreamTransport | undefined {
    return this.listeners.get(addressKey(address));
  }

  /** @internal */
  remove(transport: MemoryStreamTransport): void {
    const key = addressKey(transport.address);
    if (this.listeners.get(key) === transport) this.listeners.delete(key);
  }

  /** @internal */
  latency(from: Address, to: Address): number {
    return Math.max(0, this.options.latencyMs?.(from, to) ?? 1);
  }
}

export class MemoryStreamTransport implements StreamTransport {
  private readonly pool = new Map<string, MemoryConnection>();
  private readonly handlers: ((conn: Connection) => void)[] = [];
  private closed = false;
  /** One sweep for idle connections at a time, armed while the pool holds any. */
  private sweep: Timer | undefined;

  constructor(
    private readonly network: MemoryStreamNetwork,
    readonly publicKey: Uint8Array,
    readonly address: Address,
    readonly reachable: boolean,
  ) {}

  onConnection(cb: (conn: Connection) => void): void {
    this.handlers.push(cb);
  }

  /** Open connections, for tests and reports. */
  get size(): number {
    return this.pool.size;
  }

  async probe(address: Address, publicKey: Uint8Array): Promise<boolean> {
    const remote = this.network.lookup(address);
    const clock = this.network.options.clock;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, this.dialMs(address, remote)));
    return (
      !this.closed &&
      remote !== undefined &&
      !remote.isClosed &&
      remote.reachable &&
      bytesEqual(remote.publicKey, publicKey)
    );
  }

  async connect(address: Address, publicKey: Uint8Array, signal?: AbortSignal): Promise<Connection> {
    if (this.closed) throw new ClosedError('the transport is closed');
    const pooled = this.pool.get(bytesToBinaryString(publicKey));
    if (pooled && !pooled.closed) return pooled;
    const remote = this.network.lookup(address);
    const clock = this.network.options.clock;
    const rtt = 2 * this.network.latency(this.address, address);
    // A dial costs a round trip, whether it connects or not (a refused SYN still answers), or the
    // silent-dial time when nothing answers at all.
    await new Promise<void>((resolve) => clock.setTimeout(resolve, this.dialMs(address, remote)));
    if (signal?.aborted) throw new KadmiumError('ABORTED', 'connect aborted');
    if (this.closed) throw new ClosedError('the transport is closed');
    if (!remote || remote.closed) {
      throw new KadmiumError('UNREACHABLE', `nothing accepts connections at ${addressKey(address)}`);
    }
    if (!remote.reachable) {
      throw new KadmiumError(
        'UNREACHABLE',
        `${addressKey(address)} is behind a NAT and accepts no connections`,
      );
    }
    if (!bytesEqual(remote.publicKey, publicKey)) {
      throw new KadmiumError(
        'KEY_MISMATCH',
        `the node at ${addressKey(address)} proved another key than the one dialled`,
      );
    }
    const again = this.pool.get(bytesToBinaryString(publicKey));
    if (again && !again.closed) return again;
    const [ours, theirs] = MemoryConnection.pair(this, remote, clock, rtt / 2);
    this.network.connections++;
    remote.admit(theirs);
    this.admit(ours);
    return ours;
  }

  /** How long a dial to `address` takes to connect or fail. */
  private dialMs(address: Address, remote: MemoryStreamTransport | undefined): number {
    const rtt = 2 * this.network.latency(this.address, address);
    const silent = this.network.options.silentDialMs;
    const answers = remote !== undefined && !remote.closed && remote.reachable;
    return answers || silent === undefined ? rtt : Math.max(rtt, silent);
  }

  /** @internal A connection enters this side's pool (replacing any older one to the same key). */
  admit(conn: MemoryConnection): void {
    const key = bytesToBinaryString(conn.remotePublicKey);
    const older = this.pool.get(key);
    this.pool.set(key, conn);
    conn.onClose(() => {
      if (this.pool.get(key) === conn) this.pool.delete(key);
    });
    if (older && older !== conn) older.close('replaced by a newer connection');
    for (const handler of this.handlers) handler(conn);
    this.armSweep();
  }

  /** Close connections idle for idleCloseMs, checked every half of it while any are open. */
  private armSweep(): void {
    const idleMs = this.network.options.idleCloseMs ?? 0;
    if (idleMs <= 0 || this.sweep !== undefined || this.closed) return;
    const clock = this.network.options.clock;
    this.sweep = clock.setTimeout(() => {
      this.sweep = undefined;
      const now = clock.now();
      for (const conn of [...this.pool.values()]) {
        if (now - conn.lastActivityAt >= idleMs) conn.close(`idle: nothing sent either way for ${idleMs} ms`);
      }
      if (this.pool.size > 0) this.armSweep();
    }, idleMs / 2);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.network.remove(this);
    for (const conn of [...this.pool.values()]) conn.close('transport closed');
    this.pool.clear();
    this.sweep?.cancel();
    this.sweep = undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

export class MemoryConnection implements Connection {
  private peer: MemoryConnection | undefined;
  private readonly bodyHandlers: ((body: Uint8Array) => void)[] = [];
  private readonly closeHandlers: ((reason: string) => void)[] = [];
  private isClosed = false;
  /** Deliveries keep their order: none lands before the one sent before it. */
  private lastDeliveryAt = 0;
  /** When this end last sent or received a body (the transport's idle sweep reads it). */
  lastActivityAt: number;

  private constructor(
    readonly remotePublicKey: Uint8Array,
    readonly remoteAddress: Address,
    readonly initiator: boolean,
    private readonly clock: Clock,
    private readonly latencyMs: number,
  ) {
    this.lastActivityAt = clock.now();
  }

  static pair(
    from: MemoryStreamTransport,
    to: MemoryStreamTransport,
    clock: Clock,
    latencyMs: number,
  ): [MemoryConnection, MemoryConnection] {
    const a = new MemoryConnection(to.publicKey, to.address, true, clock, latencyMs);
    const b = new MemoryConnection(from.publicKey, from.address, false, clock, latencyMs);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(body: Uint8Array, tail?: Uint8Array): boolean {
    const peer = this.peer;
    if (this.isClosed || !peer) return false;
    const copy = new Uint8Array(body.length + (tail?.length ?? 0));
    copy.set(body, 0);
    if (tail) copy.set(tail, body.length);
    const now = this.clock.now();
    this.lastActivityAt = now;
    const at = Math.max(now + this.latencyMs, this.lastDeliveryAt);
    this.lastDeliveryAt = at;
    this.clock.setTimeout(() => peer.deliver(copy), at - now);
    return true;
  }

  onBody(cb: (body: Uint8Array) => void): void {
    this.bodyHandlers.push(cb);
  }

  onDrain(): void {
    // The memory link never refuses a send, so it never needs to drain.
  }

  onClose(cb: (reason: string) => void): void {
    if (this.isClosed) cb('closed');
    else this.closeHandlers.push(cb);
  }

  close(reason = 'closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const cb of this.closeHandlers.splice(0)) cb(reason);
    // The other end learns of it after the link's delay, like a FIN.
    const peer = this.peer;
    if (peer) this.clock.setTimeout(() => peer.close(`remote closed: ${reason}`), this.latencyMs);
  }

  private deliver(body: Uint8Array): void {
    if (this.isClosed) return;
    this.lastActivityAt = this.clock.now();
    for (const cb of this.bodyHandlers) cb(body);
  }
}
