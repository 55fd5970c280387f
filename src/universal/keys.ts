/**
 * Key mapping between the networks (docs/MULTI-DHT.md, "Keys"). The universal key is a 20-byte
 * Mainline infohash; each network's key is derived from it:
 *
 *   infohash  ->  CID       CIDv1, codec raw (0x55), multihash sha2-256 (0x12) of the 20 bytes: the
 *                           CID of the raw block holding the infohash; one-way. (A sha1 multihash
 *                           would keep the infohash itself, but @libp2p/kad-dht 16 finds no
 *                           providers for one: measured, see docs/MULTI-DHT.md.)
 *   infohash  ->  topic     SHA-256("kadmium/topic/v1" || infohash), 32 bytes; one-way
 *   name      ->  infohash  SHA-1(utf8 name)
 *
 * and node ids from keys: a secp256k1 public key is both an overlay node (id = SHA-256 of the
 * 33-byte compressed key) and an Ethereum node (id = keccak-256 of the 64-byte uncompressed x||y).
 * All pure; nothing here loads an optional package (the CID bytes are built by hand: 4 fixed bytes).
 */
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesEqual } from '../util/bytes.js';
import { InvalidArgumentError } from '../util/errors.js';

export const INFOHASH_BYTES = 20;
export const TOPIC_BYTES = 32;
const TOPIC_DOMAIN = new TextEncoder().encode('kadmium/topic/v1');
/** CIDv1 (0x01), raw (0x55), sha2-256 (0x12), 32 bytes (0x20): each a one-byte varint. */
const CID_PREFIX = Uint8Array.of(0x01, 0x55, 0x12, 0x20);
const SHA256_BYTES = 32;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function checkInfohash(infohash: Uint8Array): void {
  if (!(infohash instanceof Uint8Array) || infohash.length !== INFOHASH_BYTES)
    throw new InvalidArgumentError(
      `the universal key is a ${INFOHASH_BYTES}-byte infohash, got ${infohash?.length} bytes; use infohashFromName() for a text key`,
    );
}

export function infohashFromName(name: string): Uint8Array {
  return new Uint8Array(createHash('sha1').update(name, 'utf8').digest());
}

/** The binary CID of an infohash: 0x01 0x55 0x12 0x20 || SHA-256(infohash) (36 bytes). */
export function cidBytesOfInfohash(infohash: Uint8Array): Uint8Array {
  checkInfohash(infohash);
  const out = new Uint8Array(CID_PREFIX.length + SHA256_BYTES);
  out.set(CID_PREFIX);
  out.set(createHash('sha256').update(infohash).digest(), CID_PREFIX.length);
  return out;
}

/** The CID's text form: multibase 'b' (RFC 4648 base32, lower case, no padding), as IPFS prints it. */
export function cidTextOfInfohash(infohash: Uint8Array): string {
  return 'b' + base32(cidBytesOfInfohash(infohash));
}

/** The bytes of a base32 ('b') CID text, or undefined when it is not one. */
export function cidBytesOfText(text: string): Uint8Array | undefined {
  return text.startsWith('b') ? unbase32(text.slice(1)) : undefined;
}

/** True when `cid` (bytes) is the CID cidBytesOfInfohash gives for this infohash. */
export function isCidOfInfohash(cid: Uint8Array, infohash: Uint8Array): boolean {
  return bytesEqual(cid, cidBytesOfInfohash(infohash));
}

/** A Hyperswarm topic for an infohash. One-way: a topic cannot be turned back into its infohash. */
export function topicOfInfohash(infohash: Uint8Array): Uint8Array {
  checkInfohash(infohash);
  return new Uint8Array(createHash('sha256').update(TOPIC_DOMAIN).update(infohash).digest());
}

/** The overlay node id of a secp256k1 public key (compressed or not). */
export function overlayNodeIdOf(publicKey: Uint8Array): Uint8Array {
  const compressed = secp256k1.Point.fromBytes(publicKey).toBytes(true);
  return new Uint8Array(createHash('sha256').update(compressed).digest());
}

/** The Ethereum (discv5, identity scheme v4) node id of a secp256k1 public key. */
export function ethereumNodeIdOf(publicKey: Uint8Array): Uint8Array {
  const uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  return keccak_256(uncompressed.subarray(1));
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}
