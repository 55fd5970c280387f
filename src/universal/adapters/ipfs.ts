/**
 * IPFS: @libp2p/kad-dht on libp2p (tcp, noise, yamux). Peers are providers of the infohash's CID
 * (keys.ts); records live under the /kadmium/ namespace, which every node of the network checks
 * with kadmiumValidator (an ed25519 signature, records.ts) and orders with kadmiumSelector.
 * Everything libp2p is loaded with import() here, only when IPFS is configured.
 */
import { bytesEqual, toHex } from '../../util/bytes.js';
import { type Clock, sleep } from '../../util/clock.js';
import { KadmiumError } from '../../util/errors.js';
import { type BDict, decode, encode } from '../../wire/bencode.js';
import type { AdapterContext } from '../client.js';
import { UnsupportedError } from '../errors.js';
import { cidBytesOfInfohash } from '../keys.js';
import { type ImportModule, defaultImport, loadModules, polyfillWithResolvers } from '../load.js';
import { signIpfsRecord, verifyRecord } from '../records.js';
import type { NetworkAdapter, SignedRecord } from '../types.js';

export interface IpfsConfig {
  /** Multiaddrs of bootstrap peers, with /p2p/<peer id>. */
  bootstrap: string[];
  /** The kad protocol id; a private network uses its own (default: the LAN DHT's). */
  protocol?: string;
  /** Listen addresses (default /ip4/127.0.0.1/tcp/0). */
  listen?: string[];
}

export const IPFS_DEFAULT_PROTOCOL = '/ipfs/lan/kad/1.0.0';
/** How long start() waits for the routing table to hold a peer after dialling the bootstrap. */
export const IPFS_JOIN_WAIT_MS = 5_000;
const JOIN_POLL_MS = 50;
const NAMESPACE = 'kadmium';
const PACKAGES = [
  'libp2p',
  '@libp2p/kad-dht',
  '@libp2p/tcp',
  '@chainsafe/libp2p-noise',
  '@chainsafe/libp2p-yamux',
  '@libp2p/identify',
  '@libp2p/ping',
  '@multiformats/multiaddr',
  'multiformats/cid',
] as const;

/** The kad-dht key of a record: /kadmium/<hex public key>/<hex salt>. */
export function ipfsRecordKey(publicKey: Uint8Array, salt: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`/${NAMESPACE}/${toHex(publicKey)}/${toHex(salt)}`);
}

export function encodeIpfsRecord(r: SignedRecord): Uint8Array {
  return encode({ k: r.publicKey, s: r.salt, q: Number(r.seq), sig: r.signature, v: r.value });
}

/** Decode and verify a /kadmium/ record against its key; undefined when anything is off. */
export async function decodeIpfsRecord(
  key: Uint8Array,
  bytes: Uint8Array,
): Promise<SignedRecord | undefined> {
  const d = decode(bytes);
  if (!d.ok || typeof d.value !== 'object' || d.value instanceof Uint8Array || Array.isArray(d.value))
    return undefined;
  const { k, s, q, sig, v } = d.value as BDict;
  if (!(k instanceof Uint8Array) || !(s instanceof Uint8Array) || !(sig instanceof Uint8Array))
    return undefined;
  if (!(v instanceof Uint8Array) || typeof q !== 'number' || q < 0) return undefined;
  if (!bytesEqual(ipfsRecordKey(k, s), key)) return undefined;
  const record: SignedRecord = {
    network: 'ipfs',
    scheme: 'kadmium-ipfs-ed25519',
    publicKey: k,
    salt: s,
    seq: BigInt(q),
    value: v,
    signature: sig,
  };
  return (await verifyRecord(record)).ok ? record : undefined;
}

/** kad-dht validator for /kadmium/: throws (as kad-dht wants) on a record that does not verify. */
export async function kadmiumValidator(key: Uint8Array, value: Uint8Array): Promise<void> {
  if (!(await decodeIpfsRecord(key, value)))
    throw new KadmiumError('INVALID_RECORD', 'not a signed kadmium record for this key');
}

/** kad-dht selector for /kadmium/: the highest seq wins. */
export function kadmiumSelector(_key: Uint8Array, records: Uint8Array[]): number {
  let best = 0;
  let bestSeq = -1;
  records.forEach((bytes, i) => {
    const d = decode(bytes);
    const q =
      d.ok && typeof d.value === 'object' && !(d.value instanceof Uint8Array) && !Array.isArray(d.value)
        ? (d.value as BDict).q
        : undefined;
    if (typeof q === 'number' && q > bestSeq) {
      bestSeq = q;
      best = i;
    }
  });
  return best;
}

/** A libp2p node speaking kad-dht in server mode with the /kadmium/ validator (also used by testnets). */
export async function startIpfsNode(
  opts: { protocol?: string | undefined; listen?: string[] | undefined },
  importModule: ImportModule = defaultImport,
): Promise<any> {
  polyfillWithResolvers();
  const m = await loadModules('ipfs', PACKAGES, importModule);
  const kad = m['@libp2p/kad-dht'];
  return m['libp2p'].createLibp2p({
    addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [m['@libp2p/tcp'].tcp()],
    connectionEncrypters: [m['@chainsafe/libp2p-noise'].noise()],
    streamMuxers: [m['@chainsafe/libp2p-yamux'].yamux()],
    services: {
      identify: m['@libp2p/identify'].identify(),
      ping: m['@libp2p/ping'].ping(),
      dht: kad.kadDHT({
        protocol: opts.protocol ?? IPFS_DEFAULT_PROTOCOL,
        // Server mode: without it a node on a LAN (or loopback) answers no one (the trial's finding).
        clientMode: false,
        peerInfoMapper: kad.passthroughMapper,
        validators: { [NAMESPACE]: kadmiumValidator },
        selectors: { [NAMESPACE]: kadmiumSelector },
      }),
    },
  });
}

/** Dial the bootstrap peers and wait (bounded) until the routing table holds one. */
export async function joinIpfs(
  node: any,
  bootstrap: string[],
  clock: Clock,
  importModule: ImportModule,
): Promise<void> {
  if (bootstrap.length === 0) return;
  const { multiaddr } = (await loadModules('ipfs', ['@multiformats/multiaddr'], importModule))[
    '@multiformats/multiaddr'
  ];
  const dials = await Promise.allSettled(bootstrap.map((a) => node.dial(multiaddr(a))));
  if (dials.every((d) => d.status === 'rejected'))
    throw new KadmiumError(
      'BOOTSTRAP_FAILED',
      `ipfs: none of ${bootstrap.length} bootstrap peers answered; check their multiaddrs`,
    );
  for (
    let waited = 0;
    waited < IPFS_JOIN_WAIT_MS && node.services.dht.routingTable.size === 0;
    waited += JOIN_POLL_MS
  )
    await sleep(clock, JOIN_POLL_MS);
}

export async function createIpfsAdapter(config: IpfsConfig, ctx: AdapterContext): Promise<NetworkAdapter> {
  const node = await startIpfsNode(config, ctx.importModule);
  try {
    await joinIpfs(node, config.bootstrap, ctx.clock, ctx.importModule);
  } catch (err) {
    await node.stop();
    throw err;
  }
  const m = await loadModules('ipfs', ['multiformats/cid'], ctx.importModule);
  const CID = m['multiformats/cid'].CID;
  const routing = node.contentRouting;
  const current = async (key: Uint8Array, signal: AbortSignal): Promise<SignedRecord | undefined> => {
    try {
      return await decodeIpfsRecord(key, await routing.get(key, { signal }));
    } catch (err) {
      if (signal.aborted) throw err;
      return undefined; // kad-dht throws NotFound when no peer holds the key
    }
  };
  return {
    network: 'ipfs',
    capabilities: {
      findPeers: true,
      announce: true,
      findNode: false,
      getRecord: true,
      putRecord: true,
      nodeIdBytes: 0,
    },
    async *findPeers(infohash, signal) {
      const cid = CID.decode(cidBytesOfInfohash(infohash));
      for await (const p of routing.findProviders(cid, { signal })) {
        yield {
          kind: 'peer',
          network: 'ipfs',
          key: cid.bytes,
          id: p.id.toMultihash().bytes,
          addresses: p.multiaddrs.map((a: { toString(): string }) => a.toString()),
        };
      }
    },
    async announce(infohash, signal) {
      await routing.provide(CID.decode(cidBytesOfInfohash(infohash)), { signal });
      return { network: 'ipfs', ok: true };
    },
    findNode() {
      throw new UnsupportedError(
        'ipfs',
        'findNode',
        'libp2p peer routing is not wired into the universal client yet',
      );
    },
    getRecord(ref, signal) {
      return current(ipfsRecordKey(ref.publicKey, ref.salt ?? new Uint8Array(0)), signal);
    },
    async putRecord(value, salt, signal) {
      const key = ipfsRecordKey(ctx.keyPair.publicKey, salt);
      const seq = ((await current(key, signal))?.seq ?? -1n) + 1n;
      const record = signIpfsRecord(ctx.keyPair, salt, seq, value);
      await routing.put(key, encodeIpfsRecord(record), { signal });
      return record;
    },
    async close() {
      await node.stop();
    },
  };
}

/** n libp2p kad-dht nodes on loopback, each dialled to the first two; for tests and the bench. */
export async function createIpfsTestnet(
  size: number,
  opts: { protocol?: string; importModule?: ImportModule; clock: Clock },
): Promise<{ nodes: any[]; bootstrap: string[]; destroy(): Promise<void> }> {
  const nodes: any[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < size; i++)
      nodes.push(await startIpfsNode({ protocol: opts.protocol }, opts.importModule));
    const addr = (n: any): string => n.getMultiaddrs()[0].toString();
    const bootstrap = nodes.slice(0, 2).map(addr);
    for (let i = 1; i < size; i++)
      await joinIpfs(
        nodes[i],
        bootstrap.filter((b) => b !== addr(nodes[i])),
        opts.clock,
        opts.importModule ?? defaultImport,
      );
    return { nodes, bootstrap, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
