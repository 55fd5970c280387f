/**
 * Encrypted records: ChaCha20-Poly1305 (RFC 8439; aead.ts) with one key per direction and a
 * 96-bit nonce that is the record's sequence number in that direction. Nothing about the nonce
 * travels: a record that is dropped, replayed, reordered or moved to the other direction fails its
 * tag, because the receiver opens it under the counter it expects next.
 *
 * Plaintext of a record: `[uint8 kind][body]`, or for a batch `[uint8 kind][uint32 BE length][body]...`
 * (bodies sent in the same tick share one record: one AEAD call and one write instead of many).
 * On the wire: `[uint32 BE length][ciphertext + tag]`.
 */
import { type Aead, TAG_BYTES, defaultAead } from './aead.js';
import { LENGTH_PREFIX_BYTES, readUint32, writeUint32 } from './framing.js';

export const KEY_BYTES = 32;
export { TAG_BYTES };
export const KIND_BYTES = 1;
/** Bytes a record adds to its body: the kind byte and the Poly1305 tag. */
export const RECORD_OVERHEAD_BYTES = KIND_BYTES + TAG_BYTES;
/**
 * Records per direction before a channel must close. The nonce has 96 bits; this stays within the
 * integers a double holds exactly, and at a million records a second is still 8 years away.
 */
export const MAX_RECORDS_PER_DIRECTION = 2 ** 48;

export const RecordKind = {
  Data: 0,
  /** The sender is closing; body = UTF-8 reason. */
  Close: 1,
  /** The responder's first record: it accepted the handshake. Empty body. */
  Finished: 2,
  /** Several bodies, each `[uint32 BE length][body]`. */
  Batch: 3,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

function nonceFor(counter: number, nonce: Uint8Array): Uint8Array {
  // bytes 0-3 stay zero; 4-11 = counter as 64-bit big-endian
  writeUint32(nonce, 4, Math.floor(counter / 0x1_0000_0000));
  writeUint32(nonce, 8, counter >>> 0);
  return nonce;
}

/** Seals records in one direction. */
export class RecordSealer {
  private counter = 0;
  private readonly nonce = new Uint8Array(12);

  constructor(
    private readonly key: Uint8Array,
    private readonly limit = MAX_RECORDS_PER_DIRECTION,
    private readonly aead: Aead = defaultAead,
  ) {}

  /** True when no record may be sealed under this key any more. */
  get exhausted(): boolean {
    return this.counter >= this.limit;
  }

  /**
   * A complete wire frame (length prefix included), or undefined once the counter is exhausted.
   * The body is `body` followed by `tail` when given.
   */
  seal(kind: RecordKind, body: Uint8Array, tail?: Uint8Array): Uint8Array | undefined {
    return this.sealFilled(kind, body.length + (tail?.length ?? 0), (out, offset) => {
      out.set(body, offset);
      if (tail) out.set(tail, offset + body.length);
    });
  }

  /** One Batch record carrying every body (each `bodies[i]` then `tails[i]`), each with its length. */
  sealBatch(
    bodies: readonly Uint8Array[],
    tails: readonly (Uint8Array | undefined)[] = [],
  ): Uint8Array | undefined {
    let length = 0;
    for (let i = 0; i < bodies.length; i++) {
      length += BATCH_LENGTH_BYTES + (bodies[i] as Uint8Array).length + (tails[i]?.length ?? 0);
    }
    return this.sealFilled(RecordKind.Batch, length, (out, offset) => {
      for (let i = 0; i < bodies.length; i++) {
        const body = bodies[i] as Uint8Array;
        const tail = tails[i];
        const bodyLength = body.length + (tail?.length ?? 0);
        writeUint32(out, offset, bodyLength);
        out.set(body, offset + BATCH_LENGTH_BYTES);
        if (tail) out.set(tail, offset + BATCH_LENGTH_BYTES + body.length);
        offset += BATCH_LENGTH_BYTES + bodyLength;
      }
    });
  }

  private sealFilled(
    kind: RecordKind,
    plainBodyLength: number,
    fill: (out: Uint8Array, offset: number) => void,
  ): Uint8Array | undefined {
    if (this.exhausted) return undefined;
    const cipherLength = KIND_BYTES + plainBodyLength + TAG_BYTES;
    const frame = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + cipherLength);
    writeUint32(frame, 0, cipherLength);
    frame[LENGTH_PREFIX_BYTES] = kind;
    fill(frame, LENGTH_PREFIX_BYTES + KIND_BYTES);
    const plain = frame.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + KIND_BYTES + plainBodyLength);
    // Encrypted in place: plain and the output start at the same byte.
    this.aead.seal(
      this.key,
      nonceFor(this.counter++, this.nonce),
      plain,
      frame.subarray(LENGTH_PREFIX_BYTES),
    );
    return frame;
  }
}

/** Bytes of each body's length inside a Batch record. */
export const BATCH_LENGTH_BYTES = 4;

/**
 * The bodies of a Batch record's plaintext, or undefined when the lengths do not tile it exactly.
 * The record is authenticated, so a bad tiling means a broken peer, not an attacker.
 */
export function splitBatch(plain: Uint8Array): Uint8Array[] | undefined {
  const bodies: Uint8Array[] = [];
  let offset = 0;
  while (offset < plain.length) {
    if (plain.length - offset < BATCH_LENGTH_BYTES) return undefined;
    const length = readUint32(plain, offset);
    offset += BATCH_LENGTH_BYTES;
    if (length > plain.length - offset) return undefined;
    bodies.push(plain.subarray(offset, offset + length));
    offset += length;
  }
  return bodies.length > 0 ? bodies : undefined;
}

export interface OpenedRecord {
  kind: number;
  body: Uint8Array;
}

/** Opens records in one direction, in order. */
export class RecordOpener {
  private counter = 0;
  private readonly nonce = new Uint8Array(12);

  constructor(
    private readonly key: Uint8Array,
    private readonly limit = MAX_RECORDS_PER_DIRECTION,
    private readonly aead: Aead = defaultAead,
  ) {}

  get exhausted(): boolean {
    return this.counter >= this.limit;
  }

  /**
   * The record's kind and body, or undefined when it fails authentication (tampered, replayed,
   * reordered, truncated, or from another session). `record` may be overwritten.
   * The counter advances only on success, so one failure ends the channel's usefulness: callers close.
   */
  open(record: Uint8Array): OpenedRecord | undefined {
    if (record.length < RECORD_OVERHEAD_BYTES || this.exhausted) return undefined;
    const plain = this.aead.open(this.key, nonceFor(this.counter, this.nonce), record);
    if (!plain) return undefined;
    this.counter++;
    return { kind: plain[0] as number, body: plain.subarray(KIND_BYTES) };
  }
}
