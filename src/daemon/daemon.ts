/**
 * The daemon: one long-running node with its storage, statistics, HTTP API and dashboard, and
 * the lifecycle around them (data dir, routing-table persistence, logs, graceful stop).
 *
 *   const daemon = await Daemon.start({ config: loadConfig({ env: process.env }) });
 *   ...
 *   await daemon.stop('SIGTERM');
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { DEFAULT_BOOTSTRAP } from '../node/defaults.js';
import { Dht, type DhtOptions } from '../node/dht.js';
import { tokenPressure } from '../protocols/mainline/tokens.js';
import { AnomalyDetector } from '../services/anomaly.js';
import { Statistics } from '../services/statistics.js';
import type { DaemonConfig } from './config.js';
import { redact } from './config.js';
import { ensureDataDir, loadTable, saveTable } from './data-dir.js';
import { createApp, type DaemonState } from './http/app.js';
import { privacyReport } from './privacy.js';
import { watchBudget } from './budget.js';
import { createHttpServer, type Feed, type HttpServer } from './http/server.js';
import { DASHBOARD_FEED_FEATURE, liveSnapshot } from './live.js';
import { createLogger, type Logger } from './logger.js';
import { type DaemonOverlay, startDaemonOverlay } from './overlay.js';
import type { DaemonEvents } from './rotation.js';
import { successorTable } from '../node/rotation.js';
import { EventBus } from '../util/events.js';
import { systemRandom } from '../util/random.js';
import type { ExportedTable } from '../kademlia/routing-table.js';
import { type DaemonStorage, openDaemonStorage, STORAGE_BACKENDS, type StorageFactory } from './storage.js';

/** How long a rotation's new node may take to join before the rotation is given up, ms. */
export const ROTATE_JOIN_TIMEOUT_MS = 30_000;

export interface DaemonOptions {
  config: DaemonConfig;
  log?: Logger;
  /** Storage backends to choose from (default: STORAGE_BACKENDS). */
  backends?: Readonly<Record<string, StorageFactory>>;
  /** Extra node options (tests: rate limits, timeouts). */
  dht?: Partial<DhtOptions>;
}

export class Daemon {
  /** `rotated` after each privacy rotation (privacy.rotate_every_s). */
  readonly events = new EventBus<DaemonEvents>();
  private stateValue: DaemonState = 'starting';
  private saveTimer: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private rotating: Promise<void> | undefined;
  private rotationAbort: AbortController | undefined;
  private rotations = 0;
  private stopping: Promise<void> | undefined;
  private http: HttpServer | undefined;
  /** Stops the resource-budget watcher (budget.ts); a no-op until run() starts it. */
  private stopBudget: () => void = () => {};
  /** The overlay node beside the Mainline node, when overlay.enabled. */
  overlay: DaemonOverlay | undefined;
  /** The API's bound address, when enabled. */
  apiAddress: AddressInfo | undefined;

  private constructor(
    readonly config: DaemonConfig,
    readonly log: Logger,
    private node: Dht,
    readonly stats: Statistics,
    readonly storage: DaemonStorage,
    readonly version: string,
    private readonly makeNode: (port: number, table: ExportedTable | undefined) => Dht,
  ) {}

  /** The node serving now; a rotation replaces it, so read it each time rather than keeping it. */
  get dht(): Dht {
    return this.node;
  }

  get state(): DaemonState {
    return this.stateValue;
  }

  /** http://host:port/ of the dashboard, when the API is enabled. */
  get url(): string | undefined {
    if (!this.apiAddress) return undefined;
    const { address, port } = this.apiAddress;
    const host = address.includes(':') ? `[${address}]` : address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}/`;
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    const { config } = options;
    const log = options.log ?? createLogger({ level: config.log.level, format: config.log.format });
    ensureDataDir(config.dataDir);
    const storage = await openDaemonStorage(
      config.storage.backend,
      config.dataDir,
      options.backends ?? STORAGE_BACKENDS,
      {
        redisUrl: config.storage.redisUrl,
        namespace: config.storage.namespace,
        peerTtlMs: config.privacy.peerTtlS * 1000,
        // Degraded, then recovered: an operator wants both lines in the log.
        onBreaker: (c) => (c.state === 'open' ? log.warn(c.detail) : log.info(c.detail)),
      },
    );
    const saved = loadTable(config.dataDir);
    if ('error' in saved) log.warn(`ignoring the saved routing table: ${saved.error}`);
    let routingTable = 'table' in saved ? saved.table : undefined;
    const rotate = config.privacy.rotateEveryMs > 0;
    // A rotating node does not reuse the id it had when it last stopped: that would link the runs.
    if (rotate && routingTable) routingTable = successorTable(routingTable, undefined, systemRandom);
    const bootstrap = config.node.bootstrap.length > 0 ? config.node.bootstrap : false;
    const makeNode = (port: number, table: ExportedTable | undefined): Dht =>
      new Dht({
        host: config.node.host,
        port,
        bootstrap,
        k: config.node.k,
        // The private profile is read-only: nobody puts us in their table, so nobody stores their
        // peers or items with us and we serve no BEP 51 samples.
        readOnly: config.node.readOnly || config.privacy.profile === 'private',
        fullNode: config.node.fullNode,
        rateLimitLoopback: config.node.rateLimitLoopback,
        relay: config.node.relay,
        routingTable: table,
        // Shared by every node a rotating daemon runs: the stores outlive each node.
        peerStore: storage.peers,
        itemStore: storage.items,
        ...options.dht,
      });
    const dht = makeNode(config.node.port, routingTable);
    const stats = new Statistics(dht, {
      tickMs: config.stats.tickMs,
      maxLookups: config.privacy.profile === 'private' ? 0 : config.privacy.recentLookups,
      detector: new AnomalyDetector(config.anomaly),
      itemCount: storage.itemCount,
    });
    const daemon = new Daemon(config, log, dht, stats, storage, packageVersion(), makeNode);
    try {
      await daemon.run(routingTable?.nodes.length ?? 0);
    } catch (err) {
      await daemon.stop('failed start').catch(() => undefined);
      throw err;
    }
    return daemon;
  }

  /** Stop accepting requests, end dashboard streams, save the table, close the node and storage. */
  stop(reason = 'stop'): Promise<void> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  /** Save the routing table now; logs and swallows errors (a full disk must not stop the node). */
  saveTable(): void {
    try {
      const path = saveTable(this.config.dataDir, this.dht.exportRoutingTable());
      this.log.debug('routing table saved', { path, nodes: this.dht.table.size });
    } catch (err) {
      this.log.error(`cannot save the routing table: ${(err as Error).message}`);
    }
  }

  private async run(restored: number): Promise<void> {
    const { config, log, dht } = this;
    const daemon = this;
    log.info(`kadmium ${this.version} daemon starting`, {
      dataDir: config.dataDir,
      configFile: config.file ?? '(none)',
      storage: this.storage.description,
    });
    log.debug('configuration', redact(config));
    this.watchNode();
    // Once: the statistics outlive the nodes a rotation swaps in (watchNode runs per node).
    this.stats.events.on('anomaly', (a) =>
      log.warn(`anomaly ${a.rule}: ${a.message}`, { subject: a.subject }),
    );
    // Tokens live shorter under load or while an anomaly is flagged (protocols/mainline/tokens.ts).
    this.stats.events.on('tick', ({ sample }) =>
      this.dht.setTokenPressure(
        tokenPressure({ queriesInPerSec: sample.queriesIn, attack: this.stats.detector.active().length > 0 }),
      ),
    );
    this.stopBudget = watchBudget(
      config.budget,
      this.stats,
      () => this.dht,
      log,
      () => this.overlay?.node,
    );
    const address = await dht.listen();
    this.stats.start();
    log.info(
      `DHT node ${Buffer.from(dht.id).toString('hex')} listening on udp ${address.host}:${address.port}`,
      {
        restoredNodes: restored,
      },
    );
    if (config.overlay.enabled)
      this.overlay = await startDaemonOverlay(config, log.child({ component: 'overlay' }));
    if (config.api.enabled) {
      const app = createApp({
        // A getter: after a rotation, requests go to the new node.
        get dht() {
          return daemon.dht;
        },
        stats: this.stats,
        token: config.api.token,
        storageBackend: this.storage.description,
        version: this.version,
        state: () => this.stateValue,
        privacy: () => privacyReport(config, this.dht, this.stats, this.rotationStatus()),
        ...(this.overlay ? { overlay: this.overlay } : {}),
      });
      this.http = createHttpServer(app, this.feed(), log.child({ component: 'http' }), config.api);
      try {
        this.apiAddress = await this.http.listen(config.api.host, config.api.port);
      } catch (err) {
        throw new Error(
          `cannot serve the API on ${config.api.host}:${config.api.port}: ${(err as Error).message}; ` +
            'choose another with --api-port, or --no-api',
        );
      }
      log.info(`dashboard: ${this.url}  (API: ${this.url}openapi.json, metrics: ${this.url}metrics)`);
    } else {
      log.info('HTTP API disabled (api.enabled = false)');
    }
    this.saveTimer = setInterval(() => this.saveTable(), config.table.saveIntervalMs);
    this.saveTimer.unref();
    if (config.privacy.rotateEveryMs > 0) {
      this.rotateTimer = setInterval(() => void this.rotate(), config.privacy.rotateEveryMs);
      this.rotateTimer.unref();
      log.info(`privacy: a fresh node id and UDP port every ${config.privacy.rotateEveryMs / 1000} s`);
    }
    this.stateValue = 'running';
    void dht.start().catch((err: unknown) => log.error(`bootstrap failed: ${(err as Error).message}`));
  }

  /**
   * Privacy rotation: start a node with a fresh id on a fresh ephemeral port, let it join through
   * the old node's contacts and the routers, move the API and statistics to it, close the old
   * one. Lookups still running on the old node fail with CLOSED (503, retryable); storage stays
   * open. If the new node cannot join, the old one keeps serving and the next turn tries again.
   */
  rotate(): Promise<void> {
    if (this.stateValue !== 'running') return Promise.resolve();
    this.rotating ??= this.rotateOnce().finally(() => {
      this.rotating = undefined;
    });
    return this.rotating;
  }

  private async rotateOnce(): Promise<void> {
    const old = this.node;
    const began = old.clock.now();
    const table = successorTable(old.exportRoutingTable(), old.externalIp(), old.random);
    const next = this.makeNode(0, table);
    // The new node joins before it takes over, so the API never answers from an empty table;
    // stopping the daemon cuts the join short.
    const abort = new AbortController();
    this.rotationAbort = abort;
    let joined: { ok: boolean; message: string };
    try {
      joined = await next.start({ signal: abort.signal, timeoutMs: ROTATE_JOIN_TIMEOUT_MS });
    } catch (err) {
      joined = { ok: false, message: (err as Error).message };
    } finally {
      this.rotationAbort = undefined;
    }
    if (!joined.ok || this.stateValue !== 'running') {
      await next.close();
      if (this.stateValue === 'running')
        this.log.warn(
          `privacy rotation failed, keeping the current node until the next turn: ${joined.message}`,
        );
      return;
    }
    this.node = next;
    this.stats.attach(next);
    this.watchNode();
    const previousPort = old.address.port;
    await old.close();
    this.rotations++;
    const event = {
      rotations: this.rotations,
      id: Buffer.from(next.id).toString('hex'),
      previousId: Buffer.from(old.id).toString('hex'),
      port: next.address.port,
      previousPort,
      tookMs: next.clock.now() - began,
    };
    this.log.info(
      `privacy rotation ${event.rotations}: node ${event.id} on udp port ${event.port} ` +
        `(was ${event.previousId} on ${event.previousPort}), joined in ${event.tookMs} ms: ${joined.message}`,
    );
    this.events.emit('rotated', event);
  }

  /** For /api/privacy: whether and how often the node rotates, and how many times it has. */
  private rotationStatus(): { everyS: number; rotations: number } {
    return { everyS: this.config.privacy.rotateEveryMs / 1000, rotations: this.rotations };
  }

  private watchNode(): void {
    const { log, dht, config } = this;
    const routers = config.node.bootstrap;
    const publicRouters = routers.length > 0 && routers.every((r) => DEFAULT_BOOTSTRAP.includes(r));
    let failures = 0;
    dht.events.on('bootstrap', (b) => {
      if (b.ok) {
        if (failures > 0) log.info(`joined the DHT after ${failures} failed attempt(s): ${b.message}`);
        else log.info(`joined the DHT: ${b.message}`);
        failures = 0;
        return;
      }
      if (routers.length === 0) {
        log.info(
          'no bootstrap routers configured (node.bootstrap = []): waiting for other nodes to contact us',
        );
        return;
      }
      failures++;
      if (failures > 1) {
        log.warn(`bootstrap attempt ${failures} failed: ${b.message}`);
        return;
      }
      const what = publicRouters
        ? `the public bootstrap routers (${routers.join(', ')}) are unreachable - is this machine offline?`
        : `the bootstrap routers (${routers.join(', ')}) are unreachable`;
      log.warn(
        `${what} ${b.message}. The daemon keeps running and retries with backoff (1 s, doubling to 5 min); ` +
          'the API and dashboard stay up. For a local network use --bootstrap HOST:PORT.',
        { tried: b.tried, responded: b.responded },
      );
    });
    dht.events.on('warning', (w) => {
      if (w.code === 'BOOTSTRAP_RETRY') log.info(`bootstrap: ${w.message}`);
      else log.warn(w.message, { code: w.code });
    });
    dht.events.on('node:evicted', (e) =>
      log.debug('node evicted', {
        id: e.id,
        address: `${e.address.host}:${e.address.port}`,
        reason: e.reason,
      }),
    );
    dht.events.on('token:rotated', (e) => log.debug('token secret rotated', { rotations: e.rotations }));
    dht.events.on('feature', (f) => {
      if (f.state === 'off')
        log.warn(
          `optional feature ${f.feature} failed and is off for ${Math.round(((f.offUntilMs ?? 0) - dht.clock.now()) / 1000)} s${f.degraded ? ` (${f.degraded})` : ''}; the node runs on without it`,
          { feature: f.feature, failures: f.failures, error: f.error },
        );
      else log.info(`optional feature ${f.feature} runs again`, { feature: f.feature });
    });
  }

  /** One snapshot per tick, computed only while a dashboard listens, shared by all of them. */
  private feed(): Feed {
    const listeners = new Set<(event: string, data: string) => void>();
    const make = async (): Promise<string> =>
      JSON.stringify(
        await liveSnapshot(this.dht, this.stats, this.storage.description, this.version, this.overlay),
      );
    // The feed is optional (node/feature-breakers.ts): it runs inside the statistics tick, which
    // must not fail with it, and a throw while sending was an unhandled rejection. Off, dashboards
    // keep their last snapshot (and /api/stats still answers); the breaker's log line says so.
    this.stats.events.on('tick', () => {
      if (listeners.size === 0) return;
      void this.dht.features.runAsync(
        DASHBOARD_FEED_FEATURE,
        async () => {
          const data = await make();
          for (const send of listeners) send('snapshot', data);
        },
        undefined,
      );
    });
    return {
      subscribe(send) {
        listeners.add(send);
        return () => listeners.delete(send);
      },
      // A dashboard connecting while the feed is off gets the stream, without a first snapshot.
      latest: () =>
        this.dht.features.runAsync(
          DASHBOARD_FEED_FEATURE,
          async () => ({ event: 'snapshot', data: await make() }),
          undefined,
        ),
    };
  }

  private async shutdown(reason: string): Promise<void> {
    const wasRunning = this.stateValue === 'running';
    this.stateValue = 'stopping';
    this.log.info(`stopping (${reason}): closing the API, saving the routing table, closing the node`);
    await this.http?.close();
    if (this.saveTimer) clearInterval(this.saveTimer);
    if (this.rotateTimer) clearInterval(this.rotateTimer);
    this.rotationAbort?.abort();
    await this.rotating;
    this.stats.stop();
    this.stopBudget();
    if (wasRunning) this.saveTable();
    // A failing overlay close must not keep the Mainline node and storage open.
    await this.overlay
      ?.close()
      .catch((err: unknown) => this.log.error(`cannot close the overlay: ${(err as Error).message}`));
    await this.dht.close();
    await this.storage.close();
    this.log.info('stopped', { nodes: this.dht.table.size });
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
