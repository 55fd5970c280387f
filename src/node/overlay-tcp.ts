/**
 * The overlay on real TCP: a node behind the secure channel and connection pool, and a local
 * testnet of them on loopback.
 *
 *   const net = await createOverlayTestnet(20);
 *   const node = await listenOverlay({ identity, bootstrap: net.bootstrap });
 *   await node.start();
 *   ...
 *   await node.close();
 *   await net.destroy();
 */
import { OverlayIdentity, verifyDigest } from '../protocols/overlay/identity.js';
import { checkPuzzles, NO_PUZZLE } from '../protocols/overlay/puzzle.js';
import { OverlayStore, type OverlayStoreOptions } from '../protocols/overlay/store.js';
import type { Backends } from '../storage/open.js';
import { TcpStreamTransport, type TcpStreamTransportStats } from '../transport/stream/tcp.js';
import { PeerAddressBook } from '../transport/stream/address-book.js';
import { fromHex, toHex } from '../util/bytes.js';
import { systemClock } from '../util/clock.js';
import { systemRandom } from '../util/random.js';
import { MemoryItemBackend } from '../storage/item-store.js';
import { InvalidArgumentError } from '../util/errors.js';
import { orderCandidates } from '../transport/stream/happy-eyeballs.js';
import type { SpliceRelayStats } from '../transport/stream/splice-relay.js';
import type { RendezvousStats } from '../transport/stream/splice-rendezvous.js';
import { type Address, makeAddress, parseHostPort } from '../transport/address.js';
import {
  type OverlayRelaying,
  type OverlayRelayOptions,
  punchDialer,
  relayDialer,
  startRelaying,
} from './overlay-relay.js';
import { type OverlayBootstrap, OverlayNode, type OverlayNodeOptions } from './overlay-node.js';

export interface ListenOverlayOptions
  extends Omit<OverlayNodeOptions, 'transport' | 'store' | 'state'>, OverlayRelayOptions {
  host?: string;
  port?: number;
  /** Where items and seqs live (default: memory). The node closes them on close(). */
  backends?: Backends;
  storeOptions?: Partial<OverlayStoreOptions>;
  idleCloseMs?: number;
}

/** Listen on TCP and build the node (not yet started). */
export async function listenOverlay(options: ListenOverlayOptions): Promise<OverlayNode> {
  const difficulty = options.difficulty ?? NO_PUZZLE;
  // Peers named with both families are dialled IPv6 first (Happy Eyeballs, in the pool).
  const addressBook = new PeerAddressBook();
  for (const b of [...(options.bootstrap ?? []), ...(options.fullNodes ?? [])])
    addressBook.learn(b.publicKey, [b.address, ...(b.alternates ?? [])]);
  const clock = options.clock ?? systemClock;
  const relayDial = relayDialer(options.relays);
  const punchDial = punchDialer(options.relays, clock);
  const transport = await TcpStreamTransport.listen({
    addressBook,
    ...(relayDial ? { relayDial } : {}),
    ...(punchDial ? { punchDial } : {}),
    identity: options.identity,
    verify: verifyDigest,
    admit: (publicKey, puzzle) => checkPuzzles(publicKey, puzzle, difficulty),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.idleCloseMs !== undefined ? { idleCloseMs: options.idleCloseMs } : {}),
  });
  const backends = options.backends;
  const store = new OverlayStore(backends?.items ?? new MemoryItemBackend(), {
    fullNode: options.fullNode ?? false,
    ...options.storeOptions,
  });
  let relaying: OverlayRelaying | undefined;
  try {
    await store.open((options.clock ?? systemClock).now());
    relaying = await startRelaying(
      options,
      transport,
      options.identity,
      verifyDigest,
      clock,
      options.random ?? systemRandom,
      options.host ?? '127.0.0.1',
    );
  } catch (err) {
    // A store that cannot be read must not leave the port listening.
    await transport.close();
    throw err;
  }
  const release = async (): Promise<void> => {
    await relaying?.close();
    await backends?.close();
  };
  const node = new OverlayNode({
    ...options,
    difficulty,
    transport,
    store,
    release,
    ...(backends ? { state: backends.state } : {}),
  });
  tcpTransports.set(node, transport);
  relayings.set(node, relaying);
  return node;
}

const tcpTransports = new WeakMap<OverlayNode, TcpStreamTransport>();
const relayings = new WeakMap<OverlayNode, OverlayRelaying | undefined>();

/** The splice relay a node offers (`offerRelay`), with its counters; undefined when it offers none. */
export function overlayRelay(
  node: OverlayNode,
): { address: Address; stats: SpliceRelayStats & RendezvousStats } | undefined {
  const offered = relayings.get(node)?.offered;
  if (!offered) return undefined;
  return { address: offered.address, stats: { ...offered.relay.stats, ...offered.relay.rendezvous.stats() } };
}

/**
 * The TCP pool under a node listenOverlay built: its counters, among them `openByFamily` (which
 * address family the node's connections use; IPv6 first when peers have both).
 */
export function overlayTransportStats(node: OverlayNode): TcpStreamTransportStats | undefined {
  return tcpTransports.get(node)?.stats();
}

/**
 * "PUBKEYHEX@host:port", the overlay's bootstrap notation; a dual-stack node may be named with
 * several addresses, "PUBKEYHEX@[v6]:port,v4:port" (dialled IPv6 first, v4 as the fallback).
 */
export function parseOverlayBootstrap(text: string): OverlayBootstrap {
  const at = text.indexOf('@');
  const key = at > 0 ? fromHex(text.slice(0, at)) : undefined;
  if (!key || key.length !== 33) {
    throw new InvalidArgumentError(
      `"${text}" is not PUBKEY@HOST:PORT with a 66-hex-character public key (kadmium overlay keygen prints one)`,
    );
  }
  const addresses = text
    .slice(at + 1)
    .split(',')
    .map((part) => {
      const hostPort = parseHostPort(part);
      if ('error' in hostPort) throw new InvalidArgumentError(hostPort.error);
      return makeAddress(hostPort.host, hostPort.port);
    });
  const [address, ...alternates] = orderCandidates(addresses);
  if (!address) throw new InvalidArgumentError(`"${text}" names no address after the @`);
  return { publicKey: key, address, ...(alternates.length > 0 ? { alternates } : {}) };
}

export function formatOverlayBootstrap(node: {
  publicKey: Uint8Array;
  address: { host: string; port: number; family: 4 | 6 };
}): string {
  const { host, port, family } = node.address;
  return `${toHex(node.publicKey)}@${family === 6 ? `[${host}]` : host}:${port}`;
}

export interface OverlayTestnet {
  readonly nodes: OverlayNode[];
  readonly bootstrap: OverlayBootstrap[];
  destroy(): Promise<void>;
}

/** N overlay nodes on loopback TCP; the first is everyone's bootstrap. */
export async function createOverlayTestnet(
  size: number,
  options: Partial<ListenOverlayOptions> & { onProgress?: (started: number, total: number) => void } = {},
): Promise<OverlayTestnet> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`a testnet needs at least one node, got ${size}`);
  const nodes: OverlayNode[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    const identity = (): OverlayIdentity =>
      OverlayIdentity.generate({
        staticBits: options.difficulty?.staticBits ?? 0,
        dynamicBits: options.difficulty?.dynamicBits ?? 0,
      });
    const first = await listenOverlay({
      ...options,
      identity: options.identity ?? identity(),
      bootstrap: [],
    });
    nodes.push(first);
    await first.start();
    const bootstrap = [{ publicKey: first.publicKey, address: first.address }];
    options.onProgress?.(1, size);
    for (let i = 1; i < size; i++) {
      const node = await listenOverlay({ ...options, identity: identity(), bootstrap, port: 0 });
      nodes.push(node);
      await node.start();
      options.onProgress?.(i + 1, size);
    }
    // Early joiners saw a small network: look themselves up once more.
    await Promise.all(nodes.map((n) => n.refreshSelf().catch(() => undefined)));
    return { nodes, bootstrap, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
