// Shared shape of the interop harness: every real DHT client wrapper (libtorrent, bittorrent-dht,
// and later kadmium itself) implements InteropPeer, so a test can pair any two of them.
// Everything here is independent of kadmium's own code on purpose: a bug in kadmium's codec must
// not be able to hide inside the harness that is meant to catch it.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** The only address the harness ever binds or contacts. */
export const LOOPBACK = '127.0.0.1';

export interface PeerAddress {
  host: string;
  port: number;
}

/**
 * A bencodable value as the harness passes it around: JSON strings stand for UTF-8 byte strings,
 * numbers for integers. Byte strings that are not valid UTF-8 come back as { hex } (results only).
 */
export type InteropValue = string | number | InteropValue[] | { [key: string]: InteropValue };

export interface PeerStatus {
  port: number;
  nodeIdHex: string;
  /** Nodes in the routing table. */
  dhtNodes: number;
}

export interface AnnounceResult {
  /** The port that was announced. */
  port: number;
  /** How many nodes answered the announce_peer query without an error. */
  acks: number;
}

export interface GetPeersResult {
  peers: PeerAddress[];
  elapsedMs: number;
}

export interface PutImmutableResult {
  targetHex: string;
  /** How many nodes accepted the put. */
  numSuccess: number;
}

export interface GetImmutableResult {
  targetHex: string;
  found: boolean;
  value: InteropValue | null;
  /** The value exactly as stored (bencoded), hex; null when not found. */
  valueBencodedHex: string | null;
}

export interface PutMutableRequest {
  /** 32-byte ed25519 seed, hex. */
  seedHex: string;
  /** libtorrent's bindings can only store a byte string, so the common interface uses strings. */
  value: string;
  /** BEP 44 salt (UTF-8), empty or absent for none. */
  salt?: string;
}

export interface PutMutableResult {
  publicKeyHex: string;
  salt: string;
  seq: number;
  signatureHex: string;
  numSuccess: number;
}

export interface GetMutableResult {
  publicKeyHex: string;
  salt: string;
  found: boolean;
  seq: number | null;
  signatureHex: string | null;
  value: InteropValue | null;
  valueBencodedHex: string | null;
}

export interface WaitOptions {
  /** Bound on the network operation itself; the wrapper adds a margin for its own round trip. */
  timeoutMs?: number;
}

export interface BootstrapOptions extends WaitOptions {
  minNodes?: number;
}

export interface InteropPeer {
  readonly kind: string;
  /** UDP port of the DHT socket on 127.0.0.1. */
  readonly port: number;
  readonly nodeIdHex: string;
  readonly address: PeerAddress;
  status(): Promise<PeerStatus>;
  /** Ping a node so it enters the routing table (answers at once; the ping is asynchronous). */
  addNode(node: PeerAddress): Promise<void>;
  /** Add the nodes and wait until the routing table holds minNodes (default 1) nodes. */
  bootstrap(nodes: PeerAddress[], opts?: BootstrapOptions): Promise<{ dhtNodes: number }>;
  /** Announce this peer for an infohash; resolves once at least one node acknowledged it. */
  announce(infohashHex: string, opts?: WaitOptions & { port?: number }): Promise<AnnounceResult>;
  /**
   * Look up peers for an infohash. Resolves when `untilPeers` distinct peers were found, or the
   * lookup finished, or at timeoutMs with whatever was found (never rejects on timeout).
   */
  getPeers(infohashHex: string, opts?: WaitOptions & { untilPeers?: number }): Promise<GetPeersResult>;
  putImmutable(value: InteropValue, opts?: WaitOptions): Promise<PutImmutableResult>;
  getImmutable(targetHex: string, opts?: WaitOptions): Promise<GetImmutableResult>;
  putMutable(req: PutMutableRequest, opts?: WaitOptions): Promise<PutMutableResult>;
  getMutable(publicKeyHex: string, salt?: string, opts?: WaitOptions): Promise<GetMutableResult>;
  /** Always releases the client (kills the child process / closes the socket). Idempotent. */
  stop(): Promise<void>;
}

// ----------------------------------------------------------------------------------------------
// bencoding, just enough for the harness (values from JSON or from bittorrent-dht's decoder)

export type RawValue = Uint8Array | number | RawValue[] | { [key: string]: RawValue };

/** JSON-side value -> raw value with byte strings. */
export function toRaw(value: InteropValue): RawValue {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map(toRaw);
  const out: { [key: string]: RawValue } = {};
  for (const [k, v] of Object.entries(value)) out[k] = toRaw(v);
  return out;
}

/** Raw value (as a decoder hands it out) -> JSON-side value; non-UTF-8 strings become { hex }. */
export function fromRaw(value: unknown): InteropValue {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const text = buf.toString('utf8');
    return Buffer.from(text, 'utf8').equals(buf) ? text : { hex: buf.toString('hex') };
  }
  if (Array.isArray(value)) return value.map(fromRaw);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: InteropValue } = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromRaw(v);
    return out;
  }
  throw new TypeError(`not a bencodable value: ${String(value)}`);
}

/** Canonical bencoding (dictionary keys sorted as raw bytes). Keys are taken as UTF-8. */
export function bencode(value: unknown): Buffer {
  const parts: Buffer[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new TypeError(`cannot bencode ${v}`);
      parts.push(Buffer.from(`i${v}e`));
    } else if (typeof v === 'bigint') {
      parts.push(Buffer.from(`i${v}e`));
    } else if (typeof v === 'string' || v instanceof Uint8Array) {
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
      parts.push(Buffer.from(`${bytes.length}:`), bytes);
    } else if (Array.isArray(v)) {
      parts.push(Buffer.from('l'));
      for (const item of v) walk(item);
      parts.push(Buffer.from('e'));
    } else if (v !== null && typeof v === 'object') {
      parts.push(Buffer.from('d'));
      const keys = Object.keys(v)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, Buffer.from(k, 'utf8')] as const)
        .sort((a, b) => Buffer.compare(a[1], b[1]));
      for (const [k, kb] of keys) {
        parts.push(Buffer.from(`${kb.length}:`), kb);
        walk((v as Record<string, unknown>)[k]);
      }
      parts.push(Buffer.from('e'));
    } else {
      throw new TypeError(`cannot bencode ${String(v)}`);
    }
  };
  walk(value);
  return Buffer.concat(parts);
}

export const sha1 = (data: Uint8Array): Buffer => createHash('sha1').update(data).digest();

/** BEP 44 immutable target: SHA-1 of the bencoded value. */
export function immutableTargetHex(value: InteropValue): string {
  return sha1(bencode(toRaw(value))).toString('hex');
}

/** BEP 44 mutable target: SHA-1 of the public key followed by the salt. */
export function mutableTargetHex(publicKeyHex: string, salt = ''): string {
  return sha1(Buffer.concat([Buffer.from(publicKeyHex, 'hex'), Buffer.from(salt, 'utf8')])).toString('hex');
}

// ----------------------------------------------------------------------------------------------
// ed25519 from a 32-byte seed, with node:crypto only

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519Keys {
  seed: Buffer;
  publicKey: Buffer;
  privateKey: KeyObject;
}

export function ed25519FromSeed(seedHex: string): Ed25519Keys {
  const seed = Buffer.from(seedHex, 'hex');
  if (seed.length !== 32 || seed.toString('hex') !== seedHex.toLowerCase()) {
    throw new TypeError('seedHex must be 32 bytes of hex');
  }
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { seed, publicKey: Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length)), privateKey };
}

/** The bytes BEP 44 signs: the bencoded salt (if any), seq and v entries, without the outer d...e. */
export function mutableSignedBytes(valueBencoded: Uint8Array, seq: number, salt: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  if (salt.length > 0) parts.push(Buffer.from(`4:salt${salt.length}:`), Buffer.from(salt));
  parts.push(Buffer.from(`3:seqi${seq}e1:v`), Buffer.from(valueBencoded));
  return Buffer.concat(parts);
}

export function ed25519Sign(keys: Ed25519Keys, message: Uint8Array): Buffer {
  return sign(null, message, keys.privateKey);
}

export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Checks a mutable item's signature independently of the client that returned it. */
export function verifyMutable(item: {
  publicKeyHex: string;
  salt: string;
  seq: number | null;
  signatureHex: string | null;
  valueBencodedHex: string | null;
}): boolean {
  if (item.seq === null || item.signatureHex === null || item.valueBencodedHex === null) return false;
  const signed = mutableSignedBytes(
    Buffer.from(item.valueBencodedHex, 'hex'),
    item.seq,
    Buffer.from(item.salt, 'utf8'),
  );
  return ed25519Verify(Buffer.from(item.signatureHex, 'hex'), signed, Buffer.from(item.publicKeyHex, 'hex'));
}

/** Keeps the last `max` characters written to it (a child's stderr, for error messages). */
export class TailBuffer {
  private text = '';
  constructor(private readonly max = 8192) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

export function assertHex(value: string, bytes: number, name: string): string {
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) {
    throw new TypeError(`${name} must be ${bytes} bytes of hex, got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}

/**
 * Starts several clients at once. Unlike Promise.all, when one fails the others that did start are
 * stopped before the error propagates: a `before` hook that only remembers the result of
 * Promise.all never learns of them, so their sockets and child processes would keep the test
 * file's process alive forever after the suite failed.
 */
export async function startAll<const T extends readonly Promise<{ stop(): Promise<void> }>[]>(
  starts: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  type Started = { -readonly [K in keyof T]: Awaited<T[K]> };
  const settled = await Promise.allSettled(starts);
  const failures: unknown[] = [];
  const started: { stop(): Promise<void> }[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') started.push(s.value);
    else failures.push(s.reason);
  }
  if (failures.length === 0) return started as unknown as Started;
  await Promise.allSettled(started.map((p) => p.stop()));
  if (failures.length === 1) throw failures[0];
  throw new AggregateError(
    failures,
    `${failures.length} of ${starts.length} clients failed to start (the others were stopped): ${String(failures[0])}`,
  );
}
