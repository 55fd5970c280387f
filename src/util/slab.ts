/**
 * Short-lived byte arrays carved from shared slabs.
 *
 * V8 gives every Uint8Array over 64 bytes its own off-heap ArrayBuffer: a malloc, an external
 * memory record, and work for the garbage collector's background threads when it dies. A reply
 * datagram of a few hundred bytes, built and dropped once per query served, pays all of that per
 * query; carved from a slab it costs one view. Carved ranges never overlap and are never handed
 * out twice, so they start zeroed like any new array.
 *
 * A carved array keeps its whole slab alive while anything references it, so use a slab only for
 * bytes that live about as long as a send, never for bytes something keeps (Node's own Buffer pool
 * makes the same trade with 8 KiB slabs).
 */
export const SLAB_BYTES = 8 * 1024;

export class Slab {
  private buffer: ArrayBuffer;
  private used = 0;
  /** Arrays larger than this get their own buffer: a big one would waste most of a slab. */
  private readonly maxCarve: number;

  constructor(private readonly slabBytes: number = SLAB_BYTES) {
    this.buffer = new ArrayBuffer(slabBytes);
    this.maxCarve = slabBytes >>> 2;
  }

  /** `n` zeroed bytes. */
  take(n: number): Uint8Array {
    if (n > this.maxCarve) return new Uint8Array(n);
    if (this.used + n > this.slabBytes) {
      this.buffer = new ArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    const out = new Uint8Array(this.buffer, this.used, n);
    // Keep every carve 8-byte aligned, for the copies into and out of it.
    this.used += (n + 7) & ~7;
    return out;
  }
}
