/**
 * Checking a SignedRecord again, anywhere, by the rule of the network that signed it. This is what
 * keeps bridged records honest: a bridge passes the original signature along and the reader checks
 * it here, so no bridge can alter a record or hide where it came from.
 */
import {
  type Ed25519Keypair,
  checkSignature,
  sign,
  verify as verifyEd25519,
} from '../protocols/mainline/bep44.js';
import { DEFAULT_ITEM_LIMITS, verifyItem } from '../protocols/overlay/item.js';
import { bytesEqual } from '../util/bytes.js';
import { encode } from '../wire/bencode.js';
import { ethereumNodeIdOf } from './keys.js';
import { type ImportModule, defaultImport, loadModules } from './load.js';
import type { SignedRecord } from './types.js';

export type RecordCheck = { ok: true } | { ok: false; reason: string };

const IPFS_DOMAIN = new TextEncoder().encode('kadmium-ipfs-record/v1');

/** The bytes a kadmium record on a libp2p kad-dht is signed over: domain, salt, seq, value. */
export function ipfsSignable(salt: Uint8Array, seq: bigint, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPFS_DOMAIN.length + 4 + salt.length + 8 + value.length);
  const view = new DataView(out.buffer);
  let at = 0;
  out.set(IPFS_DOMAIN, at);
  at += IPFS_DOMAIN.length;
  view.setUint32(at, salt.length);
  out.set(salt, (at += 4));
  at += salt.length;
  view.setBigUint64(at, seq);
  out.set(value, at + 8);
  return out;
}

export function signIpfsRecord(
  keyPair: Ed25519Keypair,
  salt: Uint8Array,
  seq: bigint,
  value: Uint8Array,
): SignedRecord {
  const signature = sign(keyPair, ipfsSignable(salt, seq, value));
  return {
    network: 'ipfs',
    scheme: 'kadmium-ipfs-ed25519',
    publicKey: keyPair.publicKey,
    salt,
    seq,
    value,
    signature,
  };
}

/** Verify a record's signature by its scheme. Never throws; loads hyperdht or enr only for theirs. */
export async function verifyRecord(
  record: SignedRecord,
  importModule: ImportModule = defaultImport,
): Promise<RecordCheck> {
  try {
    switch (record.scheme) {
      case 'bep44-ed25519': {
        if (record.seq > BigInt(Number.MAX_SAFE_INTEGER)) return no('a BEP 44 seq is below 2^53');
        const check = checkSignature({
          k: record.publicKey,
          seq: Number(record.seq),
          v: encode(record.value),
          sig: record.signature,
          ...(record.salt.length > 0 ? { salt: record.salt } : {}),
        });
        return check.ok ? { ok: true } : no(check.message);
      }
      case 'overlay-secp256k1': {
        const check = verifyItem(
          { k: record.publicKey, seq: record.seq, sig: record.signature, v: record.value, salt: record.salt },
          DEFAULT_ITEM_LIMITS,
        );
        return check.ok ? { ok: true } : no(check.message);
      }
      case 'kadmium-ipfs-ed25519':
        return verifyEd25519(
          record.publicKey,
          ipfsSignable(record.salt, record.seq, record.value),
          record.signature,
        )
          ? { ok: true }
          : no('the ed25519 signature does not verify over the kadmium IPFS record');
      case 'hyperdht-ed25519': {
        if (record.salt.length > 0) return no('hyperdht records have no salt');
        const mods = await loadModules('hyperswarm', ['hyperdht/lib/persistent.js'], importModule);
        const Persistent =
          (mods['hyperdht/lib/persistent.js'] as any).default ?? mods['hyperdht/lib/persistent.js'];
        return Persistent.verifyMutable(
          Buffer.from(record.signature),
          Number(record.seq),
          Buffer.from(record.value),
          Buffer.from(record.publicKey),
        )
          ? { ok: true }
          : no('the hyperdht mutable signature does not verify');
      }
      case 'enr-v4': {
        // The value is the whole RLP-encoded ENR; decoding it checks its signature.
        const mods = await loadModules('ethereum', ['@chainsafe/enr'], importModule);
        const enr = mods['@chainsafe/enr'].ENR.decode(record.value);
        if (!bytesEqual(ethereumNodeIdOf(enr.publicKey), ethereumNodeIdOf(record.publicKey)))
          return no('the ENR is signed by another key than the record names');
        if (BigInt(enr.seq) !== record.seq) return no('the ENR seq differs from the record seq');
        if (!bytesEqual(enr.signature, record.signature))
          return no('the ENR signature differs from the record');
        return { ok: true };
      }
    }
  } catch (err) {
    return no(err instanceof Error ? err.message : String(err));
  }
  return no(`unknown signature scheme ${String((record as { scheme: unknown }).scheme)}`);
}

function no(reason: string): RecordCheck {
  return { ok: false, reason };
}
