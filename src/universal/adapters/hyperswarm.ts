/**
 * Hyperswarm: hyperdht. Peers announced under a 32-byte topic (keys.ts maps an infohash to one),
 * and mutable records signed by an ed25519 key (hyperdht has no salt: one record per key).
 */
import { KadmiumError } from '../../util/errors.js';
import type { AdapterContext } from '../client.js';
import { UnsupportedError } from '../errors.js';
import { topicOfInfohash } from '../keys.js';
import { type ImportModule, defaultImport, loadModules } from '../load.js';
import type { NetworkAdapter, SignedRecord } from '../types.js';

export interface HyperswarmConfig {
  /** host:port of bootstrap nodes. */
  bootstrap: string[];
  host?: string;
}

/** Bound on the number of peers one lookup yields; hyperdht replies hold at most 20 each. */
export const HYPERSWARM_MAX_PEERS = 1_000;

async function hyperdht(importModule: ImportModule): Promise<any> {
  const m = await loadModules('hyperswarm', ['hyperdht'], importModule);
  return m['hyperdht'].default ?? m['hyperdht'];
}

/** Run a hyperdht query stream until it ends or the signal aborts (which destroys it). */
async function* queryStream(query: any, signal: AbortSignal): AsyncGenerator<any> {
  const onAbort = (): void => query.destroy(signal.reason);
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const data of query) yield data;
  } finally {
    signal.removeEventListener('abort', onAbort);
    query.destroy();
  }
}

export async function createHyperswarmAdapter(
  config: HyperswarmConfig,
  ctx: AdapterContext,
): Promise<NetworkAdapter> {
  const DHT = await hyperdht(ctx.importModule);
  const dht = new DHT({ bootstrap: config.bootstrap, host: config.host ?? '127.0.0.1' });
  await dht.fullyBootstrapped();
  // hyperdht's keys are sodium ed25519 from a 32-byte seed: the same public key as BEP 44's.
  const keyPair = DHT.keyPair(Buffer.from(ctx.keyPair.seed));
  const latest = async (publicKey: Uint8Array, signal: AbortSignal): Promise<SignedRecord | undefined> => {
    if (signal.aborted) throw signal.reason;
    const got = await dht.mutableGet(Buffer.from(publicKey), { latest: true });
    if (!got) return undefined;
    return {
      network: 'hyperswarm',
      scheme: 'hyperdht-ed25519',
      publicKey: new Uint8Array(publicKey),
      salt: new Uint8Array(0),
      seq: BigInt(got.seq),
      value: new Uint8Array(got.value),
      signature: new Uint8Array(got.signature),
    };
  };
  return {
    network: 'hyperswarm',
    capabilities: {
      findPeers: true,
      announce: true,
      findNode: false,
      getRecord: true,
      putRecord: true,
      nodeIdBytes: 32,
    },
    async *findPeers(infohash, signal) {
      const topic = topicOfInfohash(infohash);
      let count = 0;
      for await (const data of queryStream(dht.lookup(Buffer.from(topic)), signal)) {
        for (const peer of data.peers ?? []) {
          if (++count > HYPERSWARM_MAX_PEERS) return;
          yield {
            kind: 'peer',
            network: 'hyperswarm',
            key: topic,
            id: new Uint8Array(peer.publicKey),
            addresses: (peer.relayAddresses ?? []).map(
              (a: { host: string; port: number }) => `${a.host}:${a.port}`,
            ),
          };
        }
      }
    },
    async announce(infohash, signal) {
      const query = dht.announce(Buffer.from(topicOfInfohash(infohash)), keyPair);
      const onAbort = (): void => query.destroy(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await query.finished();
        return { network: 'hyperswarm', ok: true, storedOn: query.closestReplies?.length };
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
    findNode() {
      throw new UnsupportedError('hyperswarm', 'findNode');
    },
    async getRecord(ref, signal) {
      if (ref.salt && ref.salt.length > 0)
        throw new UnsupportedError(
          'hyperswarm',
          'getRecord with a salt',
          'hyperdht keeps one record per key',
        );
      return latest(ref.publicKey, signal);
    },
    async putRecord(value, salt, signal) {
      if (salt.length > 0)
        throw new UnsupportedError(
          'hyperswarm',
          'putRecord with a salt',
          'hyperdht keeps one record per key',
        );
      const seq = ((await latest(keyPair.publicKey, signal))?.seq ?? -1n) + 1n;
      if (signal.aborted) throw signal.reason;
      const put = await dht.mutablePut(keyPair, Buffer.from(value), { seq: Number(seq) });
      if (!put.signature) throw new KadmiumError('PUT_REJECTED', 'hyperdht stored no copy of the record');
      return {
        network: 'hyperswarm',
        scheme: 'hyperdht-ed25519',
        publicKey: new Uint8Array(keyPair.publicKey),
        salt,
        seq,
        value,
        signature: new Uint8Array(put.signature),
      };
    },
    async close() {
      await dht.destroy();
    },
  };
}

/** hyperdht's own createTestnet on loopback (ephemeral: false, firewalled: false). */
export async function createHyperswarmTestnet(
  size: number,
  opts: { importModule?: ImportModule } = {},
): Promise<{ nodes: any[]; bootstrap: string[]; destroy(): Promise<void> }> {
  const m = await loadModules('hyperswarm', ['hyperdht/testnet.js'], opts.importModule ?? defaultImport);
  const createTestnet = m['hyperdht/testnet.js'].default ?? m['hyperdht/testnet.js'];
  const net = await createTestnet(size, { host: '127.0.0.1' });
  return {
    nodes: net.nodes,
    bootstrap: net.bootstrap.map((b: { host: string; port: number }) => `${b.host}:${b.port}`),
    destroy: () => net.destroy(),
  };
}
