/**
 * Length-prefixed frames over any byte stream: `[uint32 BE length][bytes]`. The reader checks a
 * length against its limit before buffering a byte of the body, survives any chunking, and never
 * throws; the writer keeps a bounded send queue and says when it has room again.
 */
import type { Duplex } from 'node:stream';

export const LENGTH_PREFIX_BYTES = 4;
/** Default largest frame a reader accepts (and a channel body may be). */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;
/** No reader may be configured above this, matching Skywire's final 4 MiB readMsg cap. */
export const MAX_FRAME_BYTES_LIMIT = 4 << 20;
/** Default bound on bytes handed to the stream but not yet flushed; past it, send() says false. */
export const DEFAULT_SEND_QUEUE_BYTES = 256 * 1024;

/**
 * Parses frames out of arbitrarily split chunks. `onFrame` receives a view that stays valid (it is
 * never overwritten). After an error the reader ignores all further input.
 */
export class FrameReader {
  private readonly chunks: Uint8Array[] = [];
  /** Offset into chunks[0] of the first unread byte. */
  private head = 0;
  private buffered = 0;
  /** Body length of the frame being assembled, or -1 while its prefix is still incomplete. */
  private need = -1;
  private stopped = false;

  constructor(
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly onError: (reason: string) => void,
    /** Changeable between frames (a channel raises it after the handshake). */
    public maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  /** Bytes held waiting for the rest of a frame (bounded by one frame plus one chunk). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Stop delivering: later input is dropped. */
  stop(): void {
    this.stopped = true;
    this.chunks.length = 0;
    this.buffered = 0;
  }

  push(chunk: Uint8Array): void {
    if (this.stopped || chunk.length === 0) return;
    if (this.buffered === 0 && this.need < 0) {
      this.pushFast(chunk);
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drainBuffered();
  }

  /** Nothing is buffered: parse straight out of the chunk, copying only a trailing partial frame. */
  private pushFast(chunk: Uint8Array): void {
    let off = 0;
    while (chunk.length - off >= LENGTH_PREFIX_BYTES) {
      const length = readUint32(chunk, off);
      if (!this.checkLength(length)) return;
      const end = off + LENGTH_PREFIX_BYTES + length;
      if (end > chunk.length) break;
      const frame = chunk.subarray(off + LENGTH_PREFIX_BYTES, end);
      off = end;
      this.onFrame(frame);
      if (this.stopped) return;
    }
    if (off < chunk.length) {
      this.chunks.push(chunk);
      this.head = off;
      this.buffered = chunk.length - off;
      this.drainBuffered();
    }
  }

  private drainBuffered(): void {
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < LENGTH_PREFIX_BYTES) return;
        const prefix = this.take(LENGTH_PREFIX_BYTES);
        const length = readUint32(prefix, 0);
        if (!this.checkLength(length)) return;
        this.need = length;
      }
      if (this.buffered < this.need) return;
      const frame = this.take(this.need);
      this.need = -1;
      this.onFrame(frame);
      if (this.stopped) return;
      if (this.buffered === 0) return;
    }
  }

  private checkLength(length: number): boolean {
    if (length <= this.maxFrameBytes) return true;
    const reason = `frame length ${length} exceeds the ${this.maxFrameBytes}-byte limit`;
    this.stop();
    this.onError(reason);
    return false;
  }

  /** Remove n buffered bytes (n <= buffered): a view when they sit in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0] as Uint8Array;
    const available = first.length - this.head;
    if (available >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Uint8Array;
      const count = Math.min(n - filled, chunk.length - this.head);
      out.set(chunk.subarray(this.head, this.head + count), filled);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === (this.chunks[0] as Uint8Array).length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}

export function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] as number) << 24) |
      ((bytes[offset + 1] as number) << 16) |
      ((bytes[offset + 2] as number) << 8) |
      (bytes[offset + 3] as number)) >>>
    0
  );
}

export function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** A frame with its length prefix written, body copied in. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + body.length);
  writeUint32(out, 0, body.length);
  out.set(body, LENGTH_PREFIX_BYTES);
  return out;
}

/**
 * Writes frames to a Duplex with a bounded send queue. The queue is the stream's own write buffer
 * (`writableLength`), so memory is bounded by `maxQueueBytes` plus one frame; when a write is
 * refused, `onDrain` runs once the queue falls to half the bound.
 */
export class FrameWriter {
  private wantDrain = false;
  private drainListener: (() => void) | undefined;

  constructor(
    private readonly duplex: Duplex,
    readonly maxQueueBytes = DEFAULT_SEND_QUEUE_BYTES,
  ) {}

  /** Room for another frame now. */
  get writable(): boolean {
    return this.duplex.writable && this.duplex.writableLength < this.maxQueueBytes;
  }

  get queuedBytes(): number {
    return this.duplex.writableLength;
  }

  onDrain(cb: () => void): void {
    this.drainListener = cb;
  }

  /**
   * Write a frame whose first LENGTH_PREFIX_BYTES are already the prefix; false when full or closed.
   * `admitted`: the caller already counted this frame against the bound (a batch gathered earlier).
   */
  writePrefixed(frame: Uint8Array, admitted = false): boolean {
    if (!this.duplex.writable) return false;
    if (!admitted && !this.writable) {
      this.wantDrain = true;
      return false;
    }
    this.duplex.write(frame, this.afterWrite);
    return true;
  }

  /** The caller found no room (see `writable`): fire onDrain once the queue has emptied to half. */
  requestDrain(): void {
    this.wantDrain = true;
  }

  /** Write one frame regardless of the bound: handshake messages and close records, a few bytes each. */
  writeUrgent(frame: Uint8Array): void {
    if (this.duplex.writable) this.duplex.write(frame, this.afterWrite);
  }

  private readonly afterWrite = (error?: Error | null): void => {
    if (error || !this.wantDrain) return;
    if (this.duplex.writableLength > this.maxQueueBytes / 2) return;
    this.wantDrain = false;
    this.drainListener?.();
  };
}
