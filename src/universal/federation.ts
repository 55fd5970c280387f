/**
 * Federation: operators of different networks' bootstrap nodes advertise each other in signed
 * lists, and a universal client joins every network from one starting list.
 *
 * A list is a BEP 44 mutable item: the operator's ed25519 key signs (salt "kadmium-federation/v1",
 * seq, v), where v is the bencoded list { n: { network: [bootstrap, ...] }, p: [operator key, ...] }.
 * The same signed item is the portable file (JSON, below) and what the operator publishes on
 * Mainline; readers check it with BEP 44's own rule, so a list cannot be altered or attributed to
 * another operator, wherever it was fetched from.
 */
import { type Ed25519Keypair, signMutable } from '../protocols/mainline/bep44.js';
import { fromHex, toHex } from '../util/bytes.js';
import { type BDict, type BValue, decode, encode } from '../wire/bencode.js';
import { parseOverlayBootstrap } from '../node/overlay-tcp.js';
import type { UniversalClient, UniversalConfig } from './client.js';
import { VerificationError } from './errors.js';
import { verifyRecord } from './records.js';
import { NETWORKS, type NetworkName, type SignedRecord } from './types.js';

export const FEDERATION_SALT = new TextEncoder().encode('kadmium-federation/v1');
/** Operators one resolution visits, at most. */
export const MAX_FEDERATION_OPERATORS = 32;
/** Bootstrap entries kept per network, at most (first come, in visiting order). */
export const MAX_FEDERATION_BOOTSTRAP = 64;

export interface FederationList {
  /** Bootstrap addresses per network, each in that adapter's text form (docs/MULTI-DHT.md). */
  networks: Partial<Record<NetworkName, string[]>>;
  /** Other operators' ed25519 keys this operator vouches for. */
  peers: Uint8Array[];
}

/** A signed list: exactly a BEP 44 mutable item (scheme bep44-ed25519, salt FEDERATION_SALT). */
export type FederationDocument = SignedRecord;

export function encodeFederationList(list: FederationList): Uint8Array {
  const n: BDict = {};
  for (const net of NETWORKS) {
    const entries = list.networks[net];
    if (entries && entries.length > 0) n[net] = entries.map((e) => new TextEncoder().encode(e));
  }
  return encode({ n, p: list.peers });
}

export function decodeFederationList(bytes: Uint8Array): FederationList | undefined {
  const d = decode(bytes);
  if (!d.ok || !isDict(d.value) || !isDict(d.value['n'])) return undefined;
  const networks: Partial<Record<NetworkName, string[]>> = {};
  for (const net of NETWORKS) {
    const entries = d.value['n'][net];
    if (Array.isArray(entries))
      networks[net] = entries
        .filter((e): e is Uint8Array => e instanceof Uint8Array)
        .map((e) => new TextDecoder().decode(e));
  }
  const p = d.value['p'];
  const peers = Array.isArray(p)
    ? p.filter((k): k is Uint8Array => k instanceof Uint8Array && k.length === 32)
    : [];
  return { networks, peers };
}

/** Sign a list under the operator's key (the same bytes as publishing it on Mainline at `seq`). */
export function signFederationList(
  keyPair: Ed25519Keypair,
  list: FederationList,
  seq: number,
): FederationDocument {
  const value = encodeFederationList(list);
  const signed = signMutable(keyPair, seq, value, FEDERATION_SALT);
  return {
    network: 'mainline',
    scheme: 'bep44-ed25519',
    publicKey: keyPair.publicKey,
    salt: FEDERATION_SALT,
    seq: BigInt(seq),
    value,
    signature: signed.sig,
  };
}

/** Check a document's signature and shape; the list it carries, or NOT_VERIFIED saying why. */
export async function verifyFederationDocument(
  doc: FederationDocument,
  operator?: Uint8Array,
): Promise<FederationList> {
  if (doc.scheme !== 'bep44-ed25519' || toHex(doc.salt) !== toHex(FEDERATION_SALT))
    throw new VerificationError(
      'not a federation list: it must be a BEP 44 item under salt kadmium-federation/v1',
    );
  if (operator && toHex(operator) !== toHex(doc.publicKey))
    throw new VerificationError(
      `the list is signed by ${toHex(doc.publicKey)}, not by operator ${toHex(operator)}`,
    );
  const check = await verifyRecord(doc);
  if (!check.ok)
    throw new VerificationError(
      `the federation list of ${toHex(doc.publicKey)} does not verify: ${check.reason}`,
    );
  const list = decodeFederationList(doc.value);
  if (!list) throw new VerificationError('the federation list is signed but not a list');
  return list;
}

/** Publish an operator's list on Mainline (the client's key is the operator's). */
export async function publishFederationList(
  client: UniversalClient,
  list: FederationList,
): Promise<FederationDocument> {
  const [put] = await client.putRecord(encodeFederationList(list), {
    networks: ['mainline'],
    salt: FEDERATION_SALT,
  });
  if (!put?.ok || !put.record) throw put?.error ?? new VerificationError('the list was not stored');
  return put.record;
}

/** Fetch an operator's list from Mainline through a client (unverified: resolve checks it). */
export function fetchFromMainline(
  client: UniversalClient,
): (operator: Uint8Array) => Promise<FederationDocument | undefined> {
  return async (operator) => {
    for await (const r of client.getRecord(
      { publicKey: operator, salt: FEDERATION_SALT },
      { networks: ['mainline'] },
    ))
      if (r.kind === 'record') return r.record;
    return undefined;
  };
}

export interface Federation {
  /** Operators whose lists verified, in visiting order. */
  operators: Uint8Array[];
  /** Bootstrap per network, merged, deduplicated, bounded. */
  networks: Partial<Record<NetworkName, string[]>>;
  /** Operators advertised but not joined, with why. */
  refused: { operator: string; reason: string }[];
}

/**
 * From one trusted signed list, visit the operators it vouches for (breadth first, at most
 * MAX_FEDERATION_OPERATORS), verifying each list against the key that vouched for it.
 */
export async function resolveFederation(
  start: FederationDocument,
  fetch: (operator: Uint8Array) => Promise<FederationDocument | undefined>,
): Promise<Federation> {
  const out: Federation = { operators: [], networks: {}, refused: [] };
  const seen = new Set<string>();
  const merge = (list: FederationList): void => {
    for (const net of NETWORKS) {
      const into = (out.networks[net] ??= []);
      for (const e of list.networks[net] ?? [])
        if (!into.includes(e) && into.length < MAX_FEDERATION_BOOTSTRAP) into.push(e);
      if (into.length === 0) delete out.networks[net];
    }
  };
  const queue: { operator: Uint8Array; doc?: FederationDocument }[] = [
    { operator: start.publicKey, doc: start },
  ];
  while (queue.length > 0 && out.operators.length < MAX_FEDERATION_OPERATORS) {
    const { operator, doc } = queue.shift() as (typeof queue)[number];
    const hex = toHex(operator);
    if (seen.has(hex)) continue;
    seen.add(hex);
    try {
      const fetched = doc ?? (await fetch(operator));
      if (!fetched) throw new VerificationError('no list published');
      const list = await verifyFederationDocument(fetched, operator);
      out.operators.push(operator);
      merge(list);
      for (const p of list.peers) queue.push({ operator: p });
    } catch (err) {
      out.refused.push({ operator: hex, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

/** The client configuration that joins every network a federation lists. */
export function federatedConfig(federation: Federation): UniversalConfig {
  const n = federation.networks;
  const config: UniversalConfig = {};
  if (n.mainline) config.mainline = { bootstrap: n.mainline };
  if (n.overlay) config.overlay = { bootstrap: n.overlay.map(parseOverlayBootstrap) };
  if (n.ipfs) config.ipfs = { bootstrap: n.ipfs };
  if (n.ethereum) config.ethereum = { bootstrap: n.ethereum };
  if (n.hyperswarm) config.hyperswarm = { bootstrap: n.hyperswarm };
  return config;
}

/** The portable file form: JSON with hex fields. */
export function federationToJson(doc: FederationDocument): string {
  return JSON.stringify({
    k: toHex(doc.publicKey),
    seq: Number(doc.seq),
    salt: new TextDecoder().decode(doc.salt),
    v: toHex(doc.value),
    sig: toHex(doc.signature),
  });
}

/** Parse the file form; NOT_VERIFIED on a malformed file (the signature is checked by resolve). */
export function federationFromJson(text: string): FederationDocument {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new VerificationError('the federation file is not JSON');
  }
  const k = typeof j['k'] === 'string' ? fromHex(j['k']) : undefined;
  const v = typeof j['v'] === 'string' ? fromHex(j['v']) : undefined;
  const sig = typeof j['sig'] === 'string' ? fromHex(j['sig']) : undefined;
  const seq = j['seq'];
  if (!k || !v || !sig || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    throw new VerificationError(
      'the federation file needs k, seq, v and sig (hex) as written by federationToJson',
    );
  return {
    network: 'mainline',
    scheme: 'bep44-ed25519',
    publicKey: k,
    salt: FEDERATION_SALT,
    seq: BigInt(seq),
    value: v,
    signature: sig,
  };
}

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}
