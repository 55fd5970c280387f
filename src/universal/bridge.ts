/**
 * Bridges: a kadmium node answers for other networks.
 *
 * Records: the bridge reads a record on its origin network, checks it, and serves it under BEP 44
 * (Mainline) or an overlay item, as an envelope that carries the origin network, the origin
 * scheme, the publisher's key, seq, value and the ORIGINAL signature. The bridge signs only the
 * carrier (BEP 44 and overlay items must be signed), under a salt derived from the origin and the
 * publisher; a reader checks the original signature by the origin's rule (records.ts), so a
 * bridge can neither alter a record nor pass it off as its own or another network's.
 *
 * Peers: BEP 5, kad-dht and hyperdht announce only the announcer itself, so a bridge cannot write
 * a third party into them. It publishes the peers it learned, each tagged with its origin network,
 * as a signed list, and announces itself for the infohash on the target network so a reader there
 * finds the bridge by the ordinary peer lookup.
 */
import { createHash } from 'node:crypto';
import { toHex } from '../util/bytes.js';
import { type BDict, decode, encode } from '../wire/bencode.js';
import type { NetworkChoice, UniversalClient } from './client.js';
import { VerificationError } from './errors.js';
import { checkInfohash } from './keys.js';
import type { ImportModule } from './load.js';
import { verifyRecord } from './records.js';
import {
  NETWORKS,
  type NetworkName,
  type PeerResult,
  type PutOutcome,
  type RecordRef,
  type SignatureScheme,
  type SignedRecord,
} from './types.js';

/** Networks that can carry bridged data: they store records signed by the bridge. */
export type CarrierNetwork = 'mainline' | 'overlay';

/** Peers in one bridged list: a BEP 44 value is at most 1,000 bytes. */
export const MAX_BRIDGED_PEERS = 12;
const SCHEMES: readonly SignatureScheme[] = [
  'bep44-ed25519',
  'overlay-secp256k1',
  'hyperdht-ed25519',
  'kadmium-ipfs-ed25519',
  'enr-v4',
];

function sha256(...parts: (string | Uint8Array)[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return new Uint8Array(h.digest());
}

/** The carrier salt of a bridged record: SHA-256 of the origin network, publisher key and salt (32 bytes). */
export function bridgeSalt(origin: NetworkName, ref: RecordRef): Uint8Array {
  return sha256('kadmium-bridge/record/v1', origin, ref.publicKey, ref.salt ?? new Uint8Array(0));
}

/** The carrier salt of a bridged peer list for an infohash. */
export function bridgePeersSalt(infohash: Uint8Array): Uint8Array {
  return sha256('kadmium-bridge/peers/v1', infohash);
}

export function encodeBridged(r: SignedRecord): Uint8Array {
  return encode({
    n: utf8(r.network),
    s: utf8(r.scheme),
    k: r.publicKey,
    t: r.salt,
    q: utf8(r.seq.toString()),
    v: r.value,
    sig: r.signature,
  });
}

/** The origin record inside an envelope, unverified; undefined when the bytes are not one. */
export function decodeBridged(bytes: Uint8Array): SignedRecord | undefined {
  const d = decode(bytes);
  if (!d.ok || !isDict(d.value)) return undefined;
  const { n, s, k, t, q, v, sig } = d.value;
  const network = text(n);
  const scheme = text(s);
  const seq = text(q);
  if (!network || !(NETWORKS as readonly string[]).includes(network)) return undefined;
  if (!scheme || !SCHEMES.includes(scheme as SignatureScheme)) return undefined;
  if (!seq || !/^\d{1,20}$/.test(seq)) return undefined;
  if (
    !(k instanceof Uint8Array) ||
    !(t instanceof Uint8Array) ||
    !(v instanceof Uint8Array) ||
    !(sig instanceof Uint8Array)
  )
    return undefined;
  return {
    network: network as NetworkName,
    scheme: scheme as SignatureScheme,
    publicKey: k,
    salt: t,
    seq: BigInt(seq),
    value: v,
    signature: sig,
  };
}

export interface BridgeOptions extends NetworkChoice {
  importModule?: ImportModule;
}

/**
 * Read `ref` on `origin`, verify it, and serve it on each carrier network. Throws NOT_VERIFIED
 * when the origin's answer does not verify, NOT_FOUND when there is none.
 */
export async function bridgeRecord(
  client: UniversalClient,
  origin: NetworkName,
  ref: RecordRef,
  carriers: CarrierNetwork[],
  opts: BridgeOptions = {},
): Promise<{ record: SignedRecord; published: PutOutcome[] }> {
  let record: SignedRecord | undefined;
  for await (const r of client.getRecord(ref, { ...opts, networks: [origin] })) {
    if (r.kind === 'failure') throw r.error;
    record = r.record;
  }
  if (!record) throw new VerificationError(`no record of ${toHex(ref.publicKey)} on ${origin} to bridge`);
  const check = await verifyRecord(record, opts.importModule);
  if (!check.ok)
    throw new VerificationError(`the ${origin} record does not verify (${check.reason}); not bridged`);
  const published = await client.putRecord(encodeBridged(record), {
    ...opts,
    networks: carriers,
    salt: bridgeSalt(origin, ref),
  });
  return { record, published };
}

/**
 * A record bridged from `origin`, read on carrier network `via` from the bridge with key
 * `bridgeKey` there. Resolves with the origin record only once its original signature verifies
 * and it is the record asked for; throws NOT_VERIFIED otherwise; undefined when none is served.
 */
export async function readBridged(
  client: UniversalClient,
  via: CarrierNetwork,
  bridgeKey: Uint8Array,
  origin: NetworkName,
  ref: RecordRef,
  opts: BridgeOptions = {},
): Promise<SignedRecord | undefined> {
  let carrier: SignedRecord | undefined;
  for await (const r of client.getRecord(
    { publicKey: bridgeKey, salt: bridgeSalt(origin, ref) },
    { ...opts, networks: [via] },
  )) {
    if (r.kind === 'failure') throw r.error;
    carrier = r.record;
  }
  if (!carrier) return undefined;
  const record = decodeBridged(carrier.value);
  if (!record) throw new VerificationError(`the bridge served something that is not a bridged record`);
  if (record.network !== origin || toHex(record.publicKey) !== toHex(ref.publicKey))
    throw new VerificationError(`the bridge served a record of another network or publisher than asked for`);
  if (toHex(record.salt) !== toHex(ref.salt ?? new Uint8Array(0)))
    throw new VerificationError('the bridge served a record under another salt than asked for');
  const check = await verifyRecord(record, opts.importModule);
  if (!check.ok)
    throw new VerificationError(`the bridged record's original signature does not verify: ${check.reason}`);
  return record;
}

/**
 * Collect up to MAX_BRIDGED_PEERS peers for an infohash from the `origins`, publish them (each with
 * its network) on the carrier, and announce the bridge there for the infohash.
 */
export async function bridgePeers(
  client: UniversalClient,
  infohash: Uint8Array,
  origins: NetworkName[],
  carrier: CarrierNetwork,
  opts: NetworkChoice = {},
): Promise<{ peers: PeerResult[]; published: PutOutcome[]; announced: boolean }> {
  checkInfohash(infohash);
  const peers: PeerResult[] = [];
  for await (const r of client.findPeers(infohash, { ...opts, networks: origins })) {
    if (r.kind !== 'peer') continue;
    peers.push(r);
    if (peers.length >= MAX_BRIDGED_PEERS) break;
  }
  const list = encode({
    ih: infohash,
    p: peers.map((p) => {
      const entry: BDict = { n: utf8(p.network), a: p.addresses.slice(0, 2).map(utf8) };
      if (p.id) entry['i'] = p.id;
      return entry;
    }),
  });
  const published = await client.putRecord(list, {
    ...opts,
    networks: [carrier],
    salt: bridgePeersSalt(infohash),
  });
  const capable = client.capabilities()[carrier]?.announce ?? false;
  const announced = capable
    ? ((await client.announce(infohash, { ...opts, networks: [carrier] }))[0]?.ok ?? false)
    : false;
  return { peers, published, announced };
}

/** The peers a bridge published for an infohash on `via`, each tagged with its origin network. */
export async function readBridgedPeers(
  client: UniversalClient,
  via: CarrierNetwork,
  bridgeKey: Uint8Array,
  infohash: Uint8Array,
  opts: NetworkChoice = {},
): Promise<PeerResult[]> {
  let carrier: SignedRecord | undefined;
  for await (const r of client.getRecord(
    { publicKey: bridgeKey, salt: bridgePeersSalt(infohash) },
    { ...opts, networks: [via] },
  )) {
    if (r.kind === 'failure') throw r.error;
    carrier = r.record;
  }
  if (!carrier) return [];
  const d = decode(carrier.value);
  if (
    !d.ok ||
    !isDict(d.value) ||
    !(d.value['ih'] instanceof Uint8Array) ||
    toHex(d.value['ih']) !== toHex(infohash)
  )
    throw new VerificationError('the bridge served a peer list for another infohash');
  const list = Array.isArray(d.value['p']) ? d.value['p'] : [];
  const out: PeerResult[] = [];
  for (const e of list.slice(0, MAX_BRIDGED_PEERS)) {
    if (!isDict(e)) continue;
    const network = text(e['n']);
    if (!network || !(NETWORKS as readonly string[]).includes(network)) continue;
    const addresses = Array.isArray(e['a'])
      ? e['a'].map(text).filter((a): a is string => a !== undefined)
      : [];
    const id = e['i'] instanceof Uint8Array ? e['i'] : undefined;
    out.push({ kind: 'peer', network: network as NetworkName, key: infohash, id, addresses });
  }
  return out;
}

function isDict(v: unknown): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

function text(v: unknown): string | undefined {
  return v instanceof Uint8Array ? new TextDecoder('utf-8', { fatal: false }).decode(v) : undefined;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
