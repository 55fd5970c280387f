/**
 * Two connected in-memory Duplex streams (Node 20 has no stream.duplexPair): bytes written to one
 * are read from the other. A reader that stops reading holds the writer's callbacks, so backpressure
 * reaches the writer as it would over TCP. Destroying one end destroys the other, like a reset.
 */
import { Duplex } from 'node:stream';

class MemoryDuplex extends Duplex {
  peer: MemoryDuplex | undefined;
  /** The peer's write callback, held while this side's readable buffer is full. */
  private heldCallback: (() => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) {
      callback();
      return;
    }
    if (peer.push(chunk)) callback();
    else peer.heldCallback = callback;
  }

  override _read(): void {
    const held = this.heldCallback;
    this.heldCallback = undefined;
    held?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    const held = this.heldCallback;
    this.heldCallback = undefined;
    held?.();
    if (peer && !peer.destroyed) queueMicrotask(() => peer.destroy());
    callback(error);
  }
}

export interface DuplexPairOptions {
  /** Bytes each side buffers for reading before the writer is held; default 64 KiB. */
  highWaterMark?: number;
}

export function memoryDuplexPair(options: DuplexPairOptions = {}): [Duplex, Duplex] {
  const highWaterMark = options.highWaterMark ?? 64 * 1024;
  const a = new MemoryDuplex({ highWaterMark });
  const b = new MemoryDuplex({ highWaterMark });
  a.peer = b;
  b.peer = a;
  return [a, b];
}
