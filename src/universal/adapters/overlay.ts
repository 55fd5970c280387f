/** The overlay (kadmium's secp256k1 DHT): signed items only; it keeps no peers for keys. */
import type { OverlayBootstrap, OverlayNode } from '../../node/overlay-node.js';
import { listenOverlay } from '../../node/overlay-tcp.js';
import { OverlayIdentity } from '../../protocols/overlay/identity.js';
import { KadmiumError } from '../../util/errors.js';
import type { AdapterContext } from '../client.js';
import { UnsupportedError } from '../errors.js';
import type { NetworkAdapter, SignedRecord } from '../types.js';
import type { MutableItem } from '../../protocols/overlay/item.js';

export interface OverlayConfig {
  /** A running node to use (not closed by the client); otherwise one is started on loopback-or-host. */
  node?: OverlayNode;
  bootstrap?: OverlayBootstrap[];
  identity?: OverlayIdentity;
  host?: string;
}

export async function createOverlayAdapter(
  config: OverlayConfig,
  _ctx: AdapterContext,
): Promise<NetworkAdapter> {
  const owned = !config.node;
  const node =
    config.node ??
    (await listenOverlay({
      identity: config.identity ?? OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }),
      bootstrap: config.bootstrap ?? [],
      host: config.host ?? '127.0.0.1',
      port: 0,
    }));
  if (owned) {
    const joined = await node.start();
    if (!joined.ok) {
      await node.close();
      throw new KadmiumError('BOOTSTRAP_FAILED', `overlay: ${joined.message}`);
    }
  }
  return {
    network: 'overlay',
    capabilities: {
      findPeers: false,
      announce: false,
      findNode: false,
      getRecord: true,
      putRecord: true,
      nodeIdBytes: 32,
    },
    findPeers() {
      throw new UnsupportedError('overlay', 'findPeers');
    },
    announce() {
      return Promise.reject(new UnsupportedError('overlay', 'announce'));
    },
    findNode() {
      throw new UnsupportedError('overlay', 'findNode');
    },
    async getRecord(ref, signal) {
      const got = await node.get(ref.publicKey, { salt: ref.salt ?? new Uint8Array(0), signal });
      return got && !got.deleted ? record(got.item) : undefined;
    },
    async putRecord(value, salt, signal) {
      await node.put(value, { salt, signal });
      // Read back our own item: the exact signed bytes the network holds.
      const got = await node.get(node.publicKey, { salt, signal });
      if (!got) throw new KadmiumError('PUT_LOST', 'the overlay item just stored cannot be read back; retry');
      return record(got.item);
    },
    async close() {
      if (owned) await node.close();
    },
  };
}

function record(item: MutableItem): SignedRecord {
  return {
    network: 'overlay',
    scheme: 'overlay-secp256k1',
    publicKey: item.k,
    salt: item.salt,
    seq: item.seq,
    value: item.v,
    signature: item.sig,
  };
}
