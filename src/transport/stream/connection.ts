/**
 * An authenticated, encrypted connection over a Duplex, after the handshake (channel.ts). Every
 * close carries a reason: the local cause, or the peer's authenticated close record.
 */
import type { Duplex } from 'node:stream';
import type { Address } from '../address.js';
import type { Clock, Timer } from '../../util/clock.js';
import { FrameTooLargeError } from './errors.js';
import type { FrameReader, FrameWriter } from './framing.js';
import {
  BATCH_LENGTH_BYTES,
  RecordKind,
  type RecordOpener,
  type RecordSealer,
  splitBatch,
} from './record.js';
import type { Connection } from './types.js';

/** After close, how long a stream may take to flush its last records before it is destroyed. */
export const CLOSE_LINGER_MS = 2_000;
/** Bodies held for a connection nobody listens to yet; past it, reading pauses. */
export const MAX_UNCLAIMED_BODIES = 1024;
const MAX_CLOSE_REASON_BYTES = 200;
/** Bodies sent in one tick are packed into records of at most this many bytes. */
export const BATCH_RECORD_BYTES = 64 * 1024;

export const CloseReason = {
  application: 'closed by the application',
  authFailed: 'a record failed authentication (tampered, reordered, replayed or corrupted); closed',
  exhausted: 'record counter exhausted; reconnect for fresh session keys',
  unexpectedKind: 'the peer sent a record of an unknown kind; closed',
  badBatch: 'the peer sent a batch record whose lengths do not add up; closed',
  ended: 'the peer ended the stream',
  streamClosed: 'the stream closed',
  peerPrefix: 'peer closed: ',
} as const;

export interface SecureConnectionParts {
  duplex: Duplex;
  reader: FrameReader;
  writer: FrameWriter;
  sealer: RecordSealer;
  opener: RecordOpener;
  remotePublicKey: Uint8Array;
  remoteAddress: Address;
  initiator: boolean;
  clock: Clock;
  maxBodyBytes: number;
  /** Close after this long with no record either way; 0 = never. */
  idleCloseMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class SecureConnection implements Connection {
  readonly remotePublicKey: Uint8Array;
  readonly remoteAddress: Address;
  readonly initiator: boolean;
  private isClosed = false;
  private closeReason: string | undefined;
  private readonly bodyListeners: Array<(body: Uint8Array) => void> = [];
  private readonly drainListeners: Array<() => void> = [];
  private readonly closeListeners: Array<(reason: string) => void> = [];
  /** Bodies that arrived before anyone called onBody. */
  private unclaimed: Uint8Array[] | undefined = [];
  private pausedForUnclaimed = false;
  private lastActivityMs: number;
  /** Bodies accepted by send() in this tick, not yet sealed, and the tail sent with each. */
  private batch: Uint8Array[] = [];
  private tails: (Uint8Array | undefined)[] = [];
  private batchBytes = 0;
  private readonly batchLimit: number;
  /** When the handshake finished, on the connection's clock. */
  openedAtMs = 0;
  private idleTimer: Timer | undefined;
  private lingerTimer: Timer | undefined;
  private readonly parts: SecureConnectionParts;
  /** Counters for tests, stats and the bench. */
  readonly counters = { bodiesSent: 0, bodiesReceived: 0, bytesSent: 0, bytesReceived: 0, sendRefused: 0 };

  constructor(parts: SecureConnectionParts) {
    this.parts = parts;
    this.remotePublicKey = parts.remotePublicKey;
    this.remoteAddress = parts.remoteAddress;
    this.initiator = parts.initiator;
    this.batchLimit = Math.min(BATCH_RECORD_BYTES, parts.maxBodyBytes);
    this.lastActivityMs = parts.clock.now();
  }

  /** @internal the channel calls this once the handshake is done and the stream is ours. */
  attach(): void {
    const { duplex, writer } = this.parts;
    writer.onDrain(() => {
      for (const cb of this.drainListeners) cb();
    });
    duplex.on('end', () => this.closeWith(CloseReason.ended, false));
    duplex.on('close', () => this.closeWith(CloseReason.streamClosed, false));
    duplex.on('error', (error: Error) => this.closeWith(`stream error: ${error.message}`, false));
    this.lastActivityMs = this.openedAtMs = this.parts.clock.now();
    if (this.parts.idleCloseMs > 0) this.armIdle(this.parts.idleCloseMs);
  }

  /** @internal the responder's FINISHED record, the first in its direction. */
  sealFinished(): Uint8Array {
    return this.parts.sealer.seal(RecordKind.Finished, new Uint8Array(0)) as Uint8Array;
  }

  /** @internal the kind of the initiator's first received record, if it opens (empty body only). */
  openFinished(frame: Uint8Array): number | undefined {
    const record = this.parts.opener.open(frame);
    return record && record.body.length === 0 ? record.kind : undefined;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The reason this connection closed, once it has. */
  get reason(): string | undefined {
    return this.closeReason;
  }

  /** Bytes waiting in the send queue. */
  get queuedBytes(): number {
    return this.parts.writer.queuedBytes;
  }

  send(body: Uint8Array, tail?: Uint8Array): boolean {
    if (this.isClosed) return false;
    const length = body.length + (tail?.length ?? 0);
    if (length > this.parts.maxBodyBytes) throw new FrameTooLargeError(length, this.parts.maxBodyBytes);
    const { writer } = this.parts;
    if (!writer.writable || writer.queuedBytes + this.batchBytes >= writer.maxQueueBytes) {
      this.counters.sendRefused++;
      writer.requestDrain();
      return false;
    }
    const size = BATCH_LENGTH_BYTES + length;
    if (this.batch.length > 0 && this.batchBytes + size > this.batchLimit) this.flush();
    this.batch.push(body);
    this.tails.push(tail);
    this.batchBytes += size;
    // Bodies sent in the same tick leave in one record, sealed and written at the microtask checkpoint.
    if (this.batch.length === 1) queueMicrotask(this.flushSoon);
    this.counters.bodiesSent++;
    this.counters.bytesSent += length;
    return true;
  }

  private readonly flushSoon = (): void => {
    if (!this.isClosed) this.flush();
  };

  /** Seal and write what send() gathered: one Data record for one body, else one Batch record. */
  private flush(): void {
    const bodies = this.batch;
    const tails = this.tails;
    if (bodies.length === 0) return;
    this.batch = [];
    this.tails = [];
    this.batchBytes = 0;
    const frame =
      bodies.length === 1
        ? this.parts.sealer.seal(RecordKind.Data, bodies[0] as Uint8Array, tails[0])
        : this.parts.sealer.sealBatch(bodies, tails);
    if (!frame) {
      this.close(CloseReason.exhausted);
      return;
    }
    this.parts.writer.writePrefixed(frame, true);
    // Activity is stamped per record, not per body: a busy link sends thousands of bodies a second.
    this.lastActivityMs = this.parts.clock.now();
  }

  onBody(cb: (body: Uint8Array) => void): void {
    this.bodyListeners.push(cb);
    const held = this.unclaimed;
    if (!held) return;
    this.unclaimed = undefined;
    if (held.length === 0) return;
    // Delivered after the caller finished registering, never from inside onBody().
    queueMicrotask(() => {
      for (const body of held) if (!this.isClosed) this.deliver(body);
      if (this.pausedForUnclaimed) this.parts.duplex.resume();
      this.pausedForUnclaimed = false;
    });
  }

  onDrain(cb: () => void): void {
    this.drainListeners.push(cb);
  }

  onClose(cb: (reason: string) => void): void {
    if (this.isClosed) queueMicrotask(() => cb(this.closeReason as string));
    else this.closeListeners.push(cb);
  }

  close(reason: string = CloseReason.application): void {
    this.closeWith(reason, true);
  }

  /** Stop reading from the stream (the peer's sends back up into its queue); resume() undoes. */
  pauseReading(): void {
    this.parts.duplex.pause();
  }

  resumeReading(): void {
    this.parts.duplex.resume();
  }

  /** @internal the channel hands every frame after the handshake here. */
  receiveFrame(frame: Uint8Array): void {
    if (this.isClosed) return;
    const record = this.parts.opener.open(frame);
    if (!record) {
      this.close(this.parts.opener.exhausted ? CloseReason.exhausted : CloseReason.authFailed);
      return;
    }
    this.lastActivityMs = this.parts.clock.now();
    if (record.kind === RecordKind.Data) {
      this.receiveBody(record.body);
    } else if (record.kind === RecordKind.Batch) {
      const bodies = splitBatch(record.body);
      if (!bodies) {
        this.close(CloseReason.badBatch);
        return;
      }
      for (const body of bodies) {
        if (this.isClosed) return;
        this.receiveBody(body);
      }
    } else if (record.kind === RecordKind.Close) {
      const text = decoder.decode(record.body.subarray(0, MAX_CLOSE_REASON_BYTES));
      this.closeWith(CloseReason.peerPrefix + text.replace(/[\u0000-\u001f\u007f]/g, '?'), false);
    } else {
      this.close(CloseReason.unexpectedKind);
    }
  }

  /** @internal the reader found a frame over the limit, or the stream broke. */
  fail(reason: string): void {
    this.close(reason);
  }

  private receiveBody(body: Uint8Array): void {
    this.counters.bodiesReceived++;
    this.counters.bytesReceived += body.length;
    if (this.unclaimed) {
      this.unclaimed.push(body);
      if (this.unclaimed.length >= MAX_UNCLAIMED_BODIES && !this.pausedForUnclaimed) {
        this.pausedForUnclaimed = true;
        this.parts.duplex.pause();
      }
      return;
    }
    this.deliver(body);
  }

  private deliver(body: Uint8Array): void {
    for (const cb of this.bodyListeners) cb(body);
  }

  private closeWith(reason: string, tellPeer: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeReason = reason;
    this.idleTimer?.cancel();
    this.parts.reader.stop();
    const { duplex } = this.parts;
    if (duplex.writable) this.flush();
    if (tellPeer && duplex.writable) {
      const record = this.parts.sealer.seal(
        RecordKind.Close,
        encoder.encode(reason).subarray(0, MAX_CLOSE_REASON_BYTES),
      );
      if (record) this.parts.writer.writeUrgent(record);
    }
    if (!duplex.destroyed) {
      duplex.end();
      this.lingerTimer = this.parts.clock.setTimeout(() => duplex.destroy(), CLOSE_LINGER_MS);
      duplex.once('close', () => this.lingerTimer?.cancel());
    }
    this.unclaimed = undefined;
    const listeners = this.closeListeners.splice(0);
    for (const cb of listeners) cb(reason);
  }

  private armIdle(idleMs: number): void {
    const check = (): void => {
      if (this.isClosed) return;
      const idleFor = this.parts.clock.now() - this.lastActivityMs;
      if (idleFor >= idleMs) this.close(`idle: no records either way for ${idleMs} ms`);
      else this.idleTimer = this.parts.clock.setTimeout(check, idleMs - idleFor);
    };
    this.idleTimer = this.parts.clock.setTimeout(check, idleMs);
  }
}
