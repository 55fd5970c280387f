/**
 * The overlay the daemon runs beside its Mainline node when `overlay.enabled`: its key file
 * (created 0600 when missing), its own store (a second SQLite file, or the daemon's Redis under
 * a namespace of its own, so the two item sets never share a count or a cap), its TCP listener,
 * and the statistics the API, metrics and dashboard read.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { featureBackoffMs } from '../node/feature-breakers.js';
import type { OverlayNode } from '../node/overlay-node.js';
import {
  formatOverlayBootstrap,
  listenOverlay,
  overlayRelay,
  parseOverlayBootstrap,
} from '../node/overlay-tcp.js';
import { OverlayIdentity } from '../protocols/overlay/identity.js';
import { type Address, isWildcardHost, makeAddress, parseHostPort } from '../transport/address.js';
import { loadKeyFile, saveKeyFile } from '../protocols/overlay/key-file.js';
import { overlayRecordSupersedes } from '../protocols/overlay/store.js';
import { toHex } from '../util/bytes.js';
import { OverlayStatistics } from '../services/overlay-stats.js';
import { type Backends, openBackends } from '../storage/open.js';
import type { DaemonConfig } from './config.js';
import type { Logger } from './logger.js';

/** The overlay's SQLite file in the data dir (beside the Mainline node's kadmium.sqlite). */
export const OVERLAY_SQLITE_FILE = 'overlay.sqlite';

export interface DaemonOverlay {
  readonly node: OverlayNode;
  readonly stats: OverlayStatistics;
  /** What stores its items, for logs and status ("sqlite /path", "redis URL namespace NS"). */
  readonly storage: string;
  readonly keyFile: string;
  /** PUBKEY@HOST:PORT as others should write it in their bootstrap list. */
  readonly address: string;
  close(): Promise<void>;
}

/** The overlay's backends, following the daemon's storage.backend. */
export async function openOverlayBackends(
  config: DaemonConfig,
  log?: Logger,
): Promise<{ backends: Backends; description: string }> {
  const { backend, redisUrl, namespace } = config.storage;
  if (backend === 'redis') {
    const ns = `${namespace}overlay:`;
    return {
      backends: await openBackends({
        kind: 'redis',
        url: redisUrl,
        namespace: ns,
        // Full nodes may share this dataset: a resync after an outage never puts back an older seq.
        supersedes: overlayRecordSupersedes,
        onBreaker: (c) =>
          c.state === 'open' ? log?.warn(`overlay: ${c.detail}`) : log?.info(`overlay: ${c.detail}`),
      }),
      description: `redis ${redisUrl} namespace ${ns}`,
    };
  }
  if (backend === 'sqlite') {
    const path = join(config.dataDir, OVERLAY_SQLITE_FILE);
    return { backends: await openBackends({ kind: 'sqlite', path }), description: `sqlite ${path}` };
  }
  return { backends: await openBackends({ kind: 'memory' }), description: 'memory' };
}

/** The key at `path`, or a new one meeting `difficulty` written there (0600) when none exists. */
export function loadOrCreateOverlayKey(
  path: string,
  difficulty: DaemonConfig['overlay']['difficulty'],
  log: Logger,
): OverlayIdentity {
  if (existsSync(path)) {
    const before = loadKeyFile(path);
    const identity = loadKeyFile(path, difficulty);
    // A raised dynamic difficulty makes loadKeyFile solve the puzzle again: keep the new solution.
    if (toHex(identity.puzzle) !== toHex(before.puzzle)) {
      saveKeyFile(path, identity);
      log.info(
        `overlay key ${path}: solved the dynamic puzzle for ${difficulty.dynamicBits} bits and saved it`,
      );
    }
    return identity;
  }
  log.info(
    `no overlay key at ${path}: generating one (puzzles ${difficulty.staticBits}/${difficulty.dynamicBits})`,
  );
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const identity = OverlayIdentity.generate(difficulty);
  saveKeyFile(path, identity);
  return identity;
}

/**
 * Listen and return at once; joining runs in the background (the daemon and its API stay up
 * while bootstrap nodes are unreachable, as for the Mainline node).
 */
export async function startDaemonOverlay(config: DaemonConfig, log: Logger): Promise<DaemonOverlay> {
  const o = config.overlay;
  const identity = loadOrCreateOverlayKey(o.keyFile, o.difficulty, log);
  const { backends, description } = await openOverlayBackends(config, log);
  let node: OverlayNode;
  try {
    node = await listenOverlay({
      identity,
      difficulty: o.difficulty,
      paths: o.paths,
      fullNode: o.fullNode,
      bootstrap: o.bootstrap.map(parseOverlayBootstrap),
      host: o.host,
      port: o.port,
      ...(o.advertiseHost !== '' ? { advertisedHost: o.advertiseHost } : {}),
      ...(o.offerRelay ? { offerRelay: { host: o.host, port: o.relayPort } } : {}),
      relays: o.relays.map(parseRelayAddress),
      backends,
    });
  } catch (err) {
    await backends.close().catch(() => undefined);
    throw new Error(
      `cannot start the overlay on tcp ${o.host}:${o.port}: ${(err as Error).message}; ` +
        'choose another overlay.port, or set overlay.enabled = false',
      { cause: err },
    );
  }
  const stats = new OverlayStatistics(
    node,
    config.privacy.profile === 'private' ? 0 : Math.min(config.privacy.recentLookups, 1000),
  );
  node.events.on('overlay:warning', (w) => log.warn(`overlay: ${w.message}`, { code: w.code }));
  node.events.on('overlay:feature', (f) => {
    if (f.state === 'on')
      log.info(`overlay: optional feature ${f.feature} runs again`, { feature: f.feature });
    else
      log.warn(
        `overlay: optional feature ${f.feature} failed and is off for ${featureBackoffMs(f.failures) / 1000} s${f.degraded ? ` (${f.degraded})` : ''}; the overlay node runs on without it`,
        { feature: f.feature, failures: f.failures, error: f.error },
      );
  });
  node.events.on('rpc:dropped-peer', (e) => log.debug('overlay connection dropped', { reason: e.reason }));
  const address = formatOverlayBootstrap({
    publicKey: node.publicKey,
    address: o.advertiseHost !== '' ? makeAddress(o.advertiseHost, node.address.port) : node.address,
  });
  if (o.advertiseHost === '' && isWildcardHost(node.address.host)) {
    log.warn(
      `overlay bound to ${node.address.host}: others cannot dial that address; set overlay.advertise_host to this machine's public IP`,
    );
  }
  const offered = overlayRelay(node);
  if (offered) log.info(`overlay splice relay for NATed nodes on tcp port ${offered.address.port}`);
  log.info(`overlay node ${address} listening on tcp (items: ${description}, key: ${o.keyFile})`);
  if (o.bootstrap.length === 0)
    log.info('no overlay bootstrap nodes configured (overlay.bootstrap = []): waiting to be contacted');
  // start() also arms the table upkeep (ping-before-evict, bucket refresh), so run it even alone.
  node.start().then(
    (joined) => {
      if (o.bootstrap.length === 0) return;
      if (joined.ok) log.info(`joined the overlay: ${joined.message}`);
      else log.warn(`overlay bootstrap failed: ${joined.message}; check overlay.bootstrap`);
    },
    (err: unknown) => log.warn(`overlay bootstrap failed: ${(err as Error).message}`),
  );
  let closing: Promise<void> | undefined;
  return {
    node,
    stats,
    storage: description,
    keyFile: o.keyFile,
    address,
    close() {
      closing ??= (async () => {
        stats.close();
        await node.close();
      })();
      return closing;
    },
  };
}

/** HOST:PORT of a splice relay (overlay.relays, validated by the config schema). */
function parseRelayAddress(text: string): Address {
  const hp = parseHostPort(text);
  if ('error' in hp) throw new Error(`overlay.relays: ${hp.error}`);
  return makeAddress(hp.host, hp.port);
}
