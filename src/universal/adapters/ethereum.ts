/**
 * Ethereum: @chainsafe/discv5 11 (with @chainsafe/enr 5). Nodes by their 32-byte id, and the
 * record of a node: its ENR, signed by the node's own secp256k1 key. discv5 stores nothing else,
 * so there are no peers for keys and no puts.
 */
import { bytesEqual, fromHex, toHex } from '../../util/bytes.js';
import { KadmiumError } from '../../util/errors.js';
import type { AdapterContext } from '../client.js';
import { UnsupportedError } from '../errors.js';
import { ethereumNodeIdOf } from '../keys.js';
import { type ImportModule, defaultImport, loadModules } from '../load.js';
import type { NetworkAdapter, NodeResult, SignedRecord } from '../types.js';

export interface EthereumConfig {
  /** ENRs ("enr:...") of bootstrap nodes. */
  bootstrap: string[];
  /** The address to bind and put in our ENR (default 127.0.0.1). */
  host?: string;
}

/** Bound on one discv5 lookup; its own default is 60 s. */
export const DISCV5_LOOKUP_TIMEOUT_MS = 5_000;
const DISCV5_REQUEST_TIMEOUT_MS = 1_000;
const PACKAGES = [
  '@chainsafe/discv5',
  '@chainsafe/enr',
  '@libp2p/crypto/keys',
  '@multiformats/multiaddr',
] as const;

/** A discv5 node on UDP, its ENR carrying the address it bound (also used by testnets). */
export async function startDiscv5(host: string, importModule: ImportModule = defaultImport): Promise<any> {
  const m = await loadModules('ethereum', PACKAGES, importModule);
  const privateKey = await m['@libp2p/crypto/keys'].generateKeyPair('secp256k1');
  const enr = m['@chainsafe/enr'].SignableENR.createFromPrivateKey(privateKey);
  const d = m['@chainsafe/discv5'].Discv5.create({
    enr,
    privateKey,
    bindAddrs: { ip4: m['@multiformats/multiaddr'].multiaddr(`/ip4/${host}/udp/0`) },
    config: {
      enrUpdate: false,
      lookupTimeout: DISCV5_LOOKUP_TIMEOUT_MS,
      requestTimeout: DISCV5_REQUEST_TIMEOUT_MS,
    },
  });
  await d.start();
  d.enr.ip = host;
  d.enr.udp = d.sessionService.transport.ip4.socket.address().port;
  return d;
}

function nodeResult(enr: any): NodeResult {
  const addr = enr.getLocationMultiaddr('udp');
  return {
    kind: 'node',
    network: 'ethereum',
    id: fromHex(enr.nodeId) as Uint8Array,
    addresses: addr ? [addr.toString()] : [],
  };
}

function enrRecord(enr: any): SignedRecord {
  return {
    network: 'ethereum',
    scheme: 'enr-v4',
    publicKey: new Uint8Array(enr.publicKey),
    salt: new Uint8Array(0),
    seq: BigInt(enr.seq),
    value: new Uint8Array(enr.encode()),
    signature: new Uint8Array(enr.signature),
  };
}

/** discv5 lookups take no signal: race them against it so an abort returns at once. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function createEthereumAdapter(
  config: EthereumConfig,
  ctx: AdapterContext,
): Promise<NetworkAdapter> {
  const m = await loadModules('ethereum', ['@chainsafe/enr'], ctx.importModule);
  const d = await startDiscv5(config.host ?? '127.0.0.1', ctx.importModule);
  try {
    for (const text of config.bootstrap) d.addEnr(m['@chainsafe/enr'].ENR.decodeTxt(text));
    if (config.bootstrap.length > 0) {
      await d.findRandomNode();
      if (d.kadValues().length === 0)
        throw new KadmiumError(
          'BOOTSTRAP_FAILED',
          `ethereum: none of ${config.bootstrap.length} bootstrap ENRs answered`,
        );
    }
  } catch (err) {
    await d.stop();
    throw err;
  }
  const lookup = async (id: Uint8Array, signal: AbortSignal): Promise<any | undefined> => {
    const hex = toHex(id);
    const known = d.findEnr(hex);
    if (known) return known;
    const found: any[] = await abortable(d.findNode(hex), signal);
    return found.find((e) => e.nodeId === hex);
  };
  return {
    network: 'ethereum',
    capabilities: {
      findPeers: false,
      announce: false,
      findNode: true,
      getRecord: true,
      putRecord: false,
      nodeIdBytes: 32,
    },
    findPeers() {
      throw new UnsupportedError('ethereum', 'findPeers');
    },
    announce() {
      return Promise.reject(new UnsupportedError('ethereum', 'announce'));
    },
    async *findNode(id, signal) {
      const enr = await lookup(id, signal);
      if (enr) yield nodeResult(enr);
    },
    async getRecord(ref, signal) {
      const enr = await lookup(ethereumNodeIdOf(ref.publicKey), signal);
      if (!enr || !bytesEqual(ethereumNodeIdOf(enr.publicKey), ethereumNodeIdOf(ref.publicKey)))
        return undefined;
      return enrRecord(enr);
    },
    putRecord() {
      return Promise.reject(
        new UnsupportedError('ethereum', 'putRecord', 'a discv5 node publishes only its own ENR'),
      );
    },
    async close() {
      await d.stop();
    },
  };
}

/** n discv5 nodes on loopback that know the first; each looks up a random node once to fill its table. */
export async function createEthereumTestnet(
  size: number,
  opts: { importModule?: ImportModule } = {},
): Promise<{ nodes: any[]; bootstrap: string[]; destroy(): Promise<void> }> {
  const nodes: any[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < size; i++) {
      const d = await startDiscv5('127.0.0.1', opts.importModule);
      if (nodes.length > 0) d.addEnr(nodes[0].enr.toENR());
      nodes.push(d);
    }
    for (const d of nodes.slice(1)) await d.findRandomNode().catch(() => undefined);
    return { nodes, bootstrap: [nodes[0].enr.toENR().encodeTxt()], destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
