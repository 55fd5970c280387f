/**
 * UniversalClient: one interface over every DHT it is configured for. Each call fans out to the
 * networks that can answer it and streams results tagged with the network, as they arrive:
 *
 *   const client = await UniversalClient.create({ mainline: { bootstrap }, hyperswarm: { bootstrap: hs } });
 *   for await (const r of client.findPeers(infohash)) if (r.kind === 'peer') console.log(r.network, r.addresses);
 *   await client.close();
 *
 * A network's optional package is loaded only when that network is configured (load.ts).
 */
import type { Ed25519Keypair } from '../protocols/mainline/bep44.js';
import { keypairFromSeed } from '../protocols/mainline/bep44.js';
import { deadline } from '../util/abort.js';
import { type Clock, systemClock } from '../util/clock.js';
import { systemRandom } from '../util/random.js';
import { type EthereumConfig, createEthereumAdapter } from './adapters/ethereum.js';
import { type HyperswarmConfig, createHyperswarmAdapter } from './adapters/hyperswarm.js';
import { type IpfsConfig, createIpfsAdapter } from './adapters/ipfs.js';
import { type MainlineConfig, createMainlineAdapter } from './adapters/mainline.js';
import { type OverlayConfig, createOverlayAdapter } from './adapters/overlay.js';
import { NotConfiguredError, UnsupportedError } from './errors.js';
import { checkInfohash } from './keys.js';
import { type ImportModule, defaultImport } from './load.js';
import { type NetworkFailure, asError, mergeSources } from './merge.js';
import {
  type AnnounceOutcome,
  type Capabilities,
  type CallOptions,
  type NetworkAdapter,
  type NetworkName,
  type NodeResult,
  type PeerResult,
  type PutOutcome,
  type RecordRef,
  type RecordResult,
  NETWORKS,
} from './types.js';

/** Each network's answer within this, unless the call says otherwise. */
export const UNIVERSAL_CALL_TIMEOUT_MS = 30_000;

export interface UniversalConfig {
  mainline?: MainlineConfig;
  overlay?: OverlayConfig;
  ipfs?: IpfsConfig;
  ethereum?: EthereumConfig;
  hyperswarm?: HyperswarmConfig;
  /**
   * The ed25519 key this client publishes records under on Mainline (BEP 44), IPFS and
   * Hyperswarm: one key, the same public key on all three. Default: a fresh one.
   */
  keyPair?: Ed25519Keypair;
  importModule?: ImportModule;
  clock?: Clock;
}

export interface NetworkChoice extends CallOptions {
  /** Ask only these; default every configured network that can answer. */
  networks?: NetworkName[] | undefined;
}

export interface AdapterContext {
  keyPair: Ed25519Keypair;
  importModule: ImportModule;
  clock: Clock;
}

type Operation = Exclude<keyof Capabilities, 'nodeIdBytes'>;

export class UniversalClient {
  private constructor(
    private readonly adapters: Map<NetworkName, NetworkAdapter>,
    private readonly clock: Clock,
    readonly keyPair: Ed25519Keypair,
  ) {}

  /** Start an adapter for each configured network (all at once); if one fails, close the rest. */
  static async create(config: UniversalConfig): Promise<UniversalClient> {
    const ctx: AdapterContext = {
      keyPair: config.keyPair ?? keypairFromSeed(systemRandom.bytes(32)),
      importModule: config.importModule ?? defaultImport,
      clock: config.clock ?? systemClock,
    };
    const starting: Promise<NetworkAdapter>[] = [];
    if (config.mainline) starting.push(createMainlineAdapter(config.mainline, ctx));
    if (config.overlay) starting.push(createOverlayAdapter(config.overlay, ctx));
    if (config.ipfs) starting.push(createIpfsAdapter(config.ipfs, ctx));
    if (config.ethereum) starting.push(createEthereumAdapter(config.ethereum, ctx));
    if (config.hyperswarm) starting.push(createHyperswarmAdapter(config.hyperswarm, ctx));
    const settled = await Promise.allSettled(starting);
    const adapters = new Map<NetworkName, NetworkAdapter>();
    for (const s of settled) if (s.status === 'fulfilled') adapters.set(s.value.network, s.value);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.allSettled([...adapters.values()].map((a) => a.close()));
      throw failed.reason;
    }
    return new UniversalClient(adapters, ctx.clock, ctx.keyPair);
  }

  /** The configured networks, in a fixed order. */
  get networks(): NetworkName[] {
    return NETWORKS.filter((n) => this.adapters.has(n));
  }

  capabilities(): Partial<Record<NetworkName, Capabilities>> {
    const out: Partial<Record<NetworkName, Capabilities>> = {};
    for (const n of this.networks) out[n] = (this.adapters.get(n) as NetworkAdapter).capabilities;
    return out;
  }

  /** Peers for an infohash from every network that keeps peers (keys mapped per network). */
  findPeers(infohash: Uint8Array, opts: NetworkChoice = {}): AsyncGenerator<PeerResult | NetworkFailure> {
    checkInfohash(infohash);
    return this.stream('findPeers', opts, (a, signal) => a.findPeers(infohash, signal));
  }

  /** The node with this id, from each network whose ids have its length. */
  findNode(id: Uint8Array, opts: NetworkChoice = {}): AsyncGenerator<NodeResult | NetworkFailure> {
    const fits = (a: NetworkAdapter): boolean =>
      a.capabilities.nodeIdBytes === 0 || a.capabilities.nodeIdBytes === id.length;
    return this.stream('findNode', opts, (a, signal) => a.findNode(id, signal), fits);
  }

  /** A publisher's record (verified by its network's rules) from each network that has one. */
  getRecord(ref: RecordRef, opts: NetworkChoice = {}): AsyncGenerator<RecordResult | NetworkFailure> {
    return this.stream('getRecord', opts, (a, signal) =>
      (async function* () {
        const record = await a.getRecord(ref, signal);
        if (record) yield { kind: 'record' as const, network: a.network, record };
      })(),
    );
  }

  /** Announce this client for an infohash on every network that keeps peers. */
  async announce(infohash: Uint8Array, opts: NetworkChoice = {}): Promise<AnnounceOutcome[]> {
    checkInfohash(infohash);
    return this.each<AnnounceOutcome>(
      'announce',
      opts,
      (a, signal) => a.announce(infohash, signal),
      (network, error) => ({
        network,
        ok: false,
        error,
      }),
    );
  }

  /** Sign and store a record under this client's key(s) and `salt` on every network that stores them. */
  async putRecord(
    value: Uint8Array,
    opts: NetworkChoice & { salt?: Uint8Array } = {},
  ): Promise<PutOutcome[]> {
    const salt = opts.salt ?? new Uint8Array(0);
    return this.each(
      'putRecord',
      opts,
      async (a, signal): Promise<PutOutcome> => ({
        network: a.network,
        ok: true,
        record: await a.putRecord(value, salt, signal),
      }),
      (network, error) => ({ network, ok: false, error }),
    );
  }

  /** The adapter of one network, for what the universal interface does not cover. */
  adapter(network: NetworkName): NetworkAdapter {
    const a = this.adapters.get(network);
    if (!a) throw new NotConfiguredError(network);
    return a;
  }

  async close(): Promise<void> {
    const all = [...this.adapters.values()];
    this.adapters.clear();
    await Promise.allSettled(all.map((a) => a.close()));
  }

  private select(
    op: Operation,
    opts: NetworkChoice,
    fits?: (a: NetworkAdapter) => boolean,
  ): NetworkAdapter[] {
    if (opts.networks) {
      return opts.networks.map((n) => {
        const a = this.adapters.get(n);
        if (!a) throw new NotConfiguredError(n);
        if (!a.capabilities[op] || (fits && !fits(a))) throw new UnsupportedError(n, op);
        return a;
      });
    }
    const chosen = [...this.adapters.values()].filter((a) => a.capabilities[op] && (!fits || fits(a)));
    if (chosen.length === 0)
      throw new UnsupportedError('any', op, `configured: ${this.networks.join(', ') || 'none'}`);
    return chosen;
  }

  private stream<T>(
    op: Operation,
    opts: NetworkChoice,
    run: (a: NetworkAdapter, signal: AbortSignal) => AsyncIterable<T>,
    fits?: (a: NetworkAdapter) => boolean,
  ): AsyncGenerator<T | NetworkFailure> {
    const chosen = this.select(op, opts, fits);
    const clock = this.clock;
    const sources = chosen.map((a) => ({
      network: a.network,
      run: (signal: AbortSignal) =>
        (async function* () {
          const d = deadline(
            clock,
            opts.timeoutMs ?? UNIVERSAL_CALL_TIMEOUT_MS,
            `${a.network} ${op}`,
            signal,
          );
          try {
            yield* run(a, d.signal);
          } finally {
            d.dispose();
          }
        })(),
    }));
    return mergeSources(sources, opts.signal);
  }

  private async each<R>(
    op: Operation,
    opts: NetworkChoice,
    run: (a: NetworkAdapter, signal: AbortSignal) => Promise<R>,
    failed: (network: NetworkName, error: Error) => R,
  ): Promise<R[]> {
    const chosen = this.select(op, opts);
    return Promise.all(
      chosen.map(async (a) => {
        const d = deadline(
          this.clock,
          opts.timeoutMs ?? UNIVERSAL_CALL_TIMEOUT_MS,
          `${a.network} ${op}`,
          opts.signal,
        );
        try {
          return await run(a, d.signal);
        } catch (err) {
          return failed(a.network, asError(err));
        } finally {
          d.dispose();
        }
      }),
    );
  }
}
