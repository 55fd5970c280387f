/** Mainline (kadmium's own Dht): peers by infohash, nodes by 20-byte id, BEP 44 mutable records. */
import { Dht, type DhtOptions } from '../../node/dht.js';
import { mutableTarget, signMutable } from '../../protocols/mainline/bep44.js';
import { bytesEqual, toHex } from '../../util/bytes.js';
import { InvalidArgumentError, KadmiumError } from '../../util/errors.js';
import type { AdapterContext } from '../client.js';
import type { NetworkAdapter, SignedRecord } from '../types.js';

/** Bytes of a record value: bencoded as a string ("990:...") it stays within BEP 44's 1,000. */
export const MAX_MAINLINE_RECORD_BYTES = 990;

export interface MainlineConfig {
  /** A running node to use (not closed by the client); otherwise one is started. */
  dht?: Dht;
  /** host:port of bootstrap nodes for the node the client starts. */
  bootstrap?: string[];
  /** Options for the node the client starts (host: default 127.0.0.1; port, ...). */
  options?: Omit<DhtOptions, 'bootstrap'>;
}

export async function createMainlineAdapter(
  config: MainlineConfig,
  ctx: AdapterContext,
): Promise<NetworkAdapter> {
  const owned = !config.dht;
  const dht =
    config.dht ?? new Dht({ host: '127.0.0.1', ...config.options, bootstrap: config.bootstrap ?? false });
  if (owned) await dht.start();
  const keyPair = ctx.keyPair;
  const salted = (salt: Uint8Array | undefined): Uint8Array | undefined =>
    salt && salt.length > 0 ? salt : undefined;
  return {
    network: 'mainline',
    capabilities: {
      findPeers: true,
      announce: true,
      findNode: true,
      getRecord: true,
      putRecord: true,
      nodeIdBytes: 20,
    },
    async *findPeers(infohash, signal) {
      for await (const peer of dht.getPeers(infohash, { signal })) {
        yield { kind: 'peer', network: 'mainline', key: infohash, addresses: [`${peer.host}:${peer.port}`] };
      }
    },
    async announce(infohash, signal) {
      const result = await dht.announce(infohash, { signal });
      return { network: 'mainline', ok: result.announcedTo > 0, storedOn: result.announcedTo };
    },
    async *findNode(id, signal) {
      for (const c of await dht.findNode(id, { signal })) {
        if (bytesEqual(c.id, id))
          yield {
            kind: 'node',
            network: 'mainline',
            id: c.id,
            addresses: [`${c.address.host}:${c.address.port}`],
          };
      }
    },
    async getRecord(ref, signal) {
      const salt = salted(ref.salt);
      const got = await dht.get(mutableTarget(ref.publicKey, salt), { salt, signal });
      if (!got || got.seq === undefined || !got.sig || !got.k || !(got.v instanceof Uint8Array))
        return undefined;
      return record(got.k, salt, got.seq, got.v, got.sig);
    },
    async putRecord(value, salt, signal) {
      if (value.length > MAX_MAINLINE_RECORD_BYTES)
        throw new InvalidArgumentError(
          `a BEP 44 value holds at most ${MAX_MAINLINE_RECORD_BYTES} bytes, got ${value.length}; store a hash that points to the data`,
        );
      const put = await dht.putMutable({ keyPair, v: value, salt: salted(salt), signal });
      const seq = put.seq ?? 0;
      // ed25519 is deterministic: signing again gives exactly the signature the network stored.
      const signed = signMutable(keyPair, seq, value, salted(salt));
      if (put.storedOn === 0)
        throw new KadmiumError(
          'PUT_REJECTED',
          `no Mainline node stored ${toHex(put.target)}; check the bootstrap and retry`,
        );
      return record(keyPair.publicKey, salted(salt), seq, value, signed.sig);
    },
    async close() {
      if (owned) await dht.close();
    },
  };
}

function record(
  k: Uint8Array,
  salt: Uint8Array | undefined,
  seq: number,
  value: Uint8Array,
  sig: Uint8Array,
): SignedRecord {
  return {
    network: 'mainline',
    scheme: 'bep44-ed25519',
    publicKey: k,
    salt: salt ?? new Uint8Array(0),
    seq: BigInt(seq),
    value,
    signature: sig,
  };
}
