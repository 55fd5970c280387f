/**
 * SHA-256 (FIPS 180-4) in TypeScript, for the write tokens a node issues with every get_peers
 * reply: `KeyedSha256` keeps the state after a secret block, so a token costs one compression and
 * no object construction (node:crypto's `createHash` or `createHmac` build a native object per
 * call, which costs more than the hashing). Work is on 32-bit words in preallocated scratch, so a
 * hash allocates only its output.
 */

/** SHA-256 round constants: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
// prettier-ignore
const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

/** SHA-256 initial hash value: first 32 bits of the fractional parts of the square roots of the first 8 primes. */
// prettier-ignore
const IV = Int32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);

const BLOCK_BYTES = 64;
export const SHA256_BYTES = 32;
/** The longest message whose padding (0x80 and the 8-byte length) still fits its block. */
const MAX_ONE_BLOCK = BLOCK_BYTES - 9;

/**
 * Scratch shared by every call: the message schedule and a working state. Safe because hashing is
 * synchronous and never re-entered.
 */
const W = new Int32Array(64);
const STATE = new Int32Array(8);

/** One SHA-256 compression of the block in w[0..15] into `state` (w[16..63] is overwritten). */
function compress(state: Int32Array, w: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15] as number;
    const y = w[t - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (s1 + (w[t - 7] as number) + s0 + (w[t - 16] as number)) | 0;
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + (K[t] as number) + (w[t] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
  state[4] = ((state[4] as number) + e) | 0;
  state[5] = ((state[5] as number) + f) | 0;
  state[6] = ((state[6] as number) + g) | 0;
  state[7] = ((state[7] as number) + h) | 0;
}

/** Load the 64 bytes at `offset` into w[0..15], big-endian words. */
function loadBlock(bytes: Uint8Array, offset: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++, offset += 4) {
    w[i] =
      ((bytes[offset] as number) << 24) |
      ((bytes[offset + 1] as number) << 16) |
      ((bytes[offset + 2] as number) << 8) |
      (bytes[offset + 3] as number);
  }
}

/**
 * Hash `data` on from `state`, which has already absorbed `prefixBytes` (a multiple of 64), and
 * pad: `state` ends as the digest of prefix || data.
 */
function finish(state: Int32Array, prefixBytes: number, data: Uint8Array): void {
  const n = data.length;
  let off = 0;
  for (; off + BLOCK_BYTES <= n; off += BLOCK_BYTES) {
    loadBlock(data, off, W);
    compress(state, W);
  }
  // The tail (0..63 bytes), the 0x80 marker, zeros, and the length in bits as 64 bits.
  const rest = n - off;
  W.fill(0, 0, 16);
  for (let i = 0; i < rest; i++)
    W[i >> 2] = (W[i >> 2] as number) | ((data[off + i] as number) << (24 - 8 * (i & 3)));
  W[rest >> 2] = (W[rest >> 2] as number) | (0x80 << (24 - 8 * (rest & 3)));
  if (rest >= BLOCK_BYTES - 8) {
    compress(state, W);
    W.fill(0, 0, 16);
  }
  const bits = (prefixBytes + n) * 8;
  W[14] = Math.floor(bits / 0x1_0000_0000);
  W[15] = bits % 0x1_0000_0000;
  compress(state, W);
}

/** The first `length` bytes of the digest held in `state`, big-endian. */
function digestBytes(state: Int32Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (state[i >> 2] as number) >>> (24 - 8 * (i & 3));
  return out;
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  STATE.set(IV);
  finish(STATE, 0, data);
  return digestBytes(STATE, SHA256_BYTES);
}

/**
 * SHA-256 under a secret first block, for MACs of short messages of a fixed length:
 * `mac(m)` = SHA-256(secret || m), the 64-byte secret absorbed once at construction, so a message
 * of up to 55 bytes costs one compression (HMAC costs two).
 *
 * Hashing with a secret chaining value is the inner function of NMAC/HMAC, and it is a PRF on a
 * prefix-free set of messages under the same assumption HMAC's proof rests on (the compression
 * function is a PRF keyed through its chaining input). Messages of one length are prefix-free;
 * the length that goes into the padding keeps messages of different lengths apart as long as
 * every message fits one block, which `mac` enforces. The classic flaw of a secret prefix, length
 * extension, needs messages of any length and the whole digest; callers truncate.
 */
export class KeyedSha256 {
  /** The SHA-256 state after absorbing the secret block. */
  private readonly state = new Int32Array(8);

  constructor(secret: Uint8Array) {
    if (secret.length !== BLOCK_BYTES) {
      throw new RangeError(`the secret must be one ${BLOCK_BYTES}-byte block, got ${secret.length} bytes`);
    }
    loadBlock(secret, 0, W);
    this.state.set(IV);
    compress(this.state, W);
    W.fill(0, 0, 16);
  }

  /** The first `length` bytes (1..32) of SHA-256(secret || message), message at most 55 bytes. */
  mac(message: Uint8Array, length: number = SHA256_BYTES): Uint8Array {
    if (!Number.isInteger(length) || length < 1 || length > SHA256_BYTES) {
      throw new RangeError(`output length must be 1..${SHA256_BYTES}, got ${length}`);
    }
    if (message.length > MAX_ONE_BLOCK) {
      throw new RangeError(`message must be at most ${MAX_ONE_BLOCK} bytes, got ${message.length}`);
    }
    STATE.set(this.state);
    finish(STATE, BLOCK_BYTES, message);
    return digestBytes(STATE, length);
  }
}
