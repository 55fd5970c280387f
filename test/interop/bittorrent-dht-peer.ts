// BittorrentDhtPeer: the npm package bittorrent-dht@11 (webtorrent's DHT) running in this
// process on 127.0.0.1, behind the same InteropPeer interface as LibtorrentPeer.
//
// Settings it needs on loopback (see README.md):
// - bootstrap: false or an explicit list. Omitting it makes k-rpc query the PUBLIC routers
//   (router.bittorrent.com and friends), which the harness must never contact.
// - listen(port, '127.0.0.1') in the same tick as the constructor: the constructor schedules its
//   bootstrap for process.nextTick, and a query sent before bind() would bind the socket to
//   0.0.0.0 on a random port.
// - verify: an ed25519 verifier, or it answers every mutable put with error 400.
// - host: left unset, so announce() does not also store ourselves as a peer locally (that would
//   make a get_peers on the same node look like a success).
import DHT, { type GetResult } from 'bittorrent-dht';
import {
  type AnnounceResult,
  assertHex,
  type BootstrapOptions,
  bencode,
  ed25519FromSeed,
  ed25519Sign,
  ed25519Verify,
  fromRaw,
  type GetImmutableResult,
  type GetMutableResult,
  type GetPeersResult,
  type InteropPeer,
  type InteropValue,
  LOOPBACK,
  mutableSignedBytes,
  type PeerAddress,
  type PeerStatus,
  type PutImmutableResult,
  type PutMutableRequest,
  type PutMutableResult,
  sha1,
  toRaw,
  type WaitOptions,
} from './common.js';

export interface BittorrentDhtPeerOptions {
  /** UDP port on 127.0.0.1; 0 (default) lets the kernel choose. */
  port?: number;
  /** Bootstrap nodes (loopback only). Default: none. */
  bootstrap?: PeerAddress[];
  /** k-rpc per-query timeout (default 2000 ms in k-rpc; the harness uses 1000 ms on loopback). */
  queryTimeoutMs?: number;
  /** Bound on start (listen + bootstrap), default 10 s. */
  readyTimeoutMs?: number;
}

const DEFAULT_WAIT_MS = 10000;

/** Rejects after `ms` unless `work` settles first; the message names the operation. */
function bounded<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bittorrent-dht ${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

export class BittorrentDhtPeer implements InteropPeer {
  readonly kind = 'bittorrent-dht';
  readonly address: PeerAddress;
  readonly nodeIdHex: string;
  private stopped: Promise<void> | null = null;
  /** Errors and warnings the DHT emitted, newest last (for failure messages). */
  readonly events: string[] = [];

  private constructor(
    readonly dht: DHT,
    readonly port: number,
  ) {
    this.address = { host: LOOPBACK, port };
    this.nodeIdHex = dht.nodeId.toString('hex');
  }

  static async start(opts: BittorrentDhtPeerOptions = {}): Promise<BittorrentDhtPeer> {
    const dht = new DHT({
      bootstrap: opts.bootstrap && opts.bootstrap.length > 0 ? opts.bootstrap.map((b) => ({ ...b })) : false,
      timeout: opts.queryTimeoutMs ?? 1000,
      verify: (sig, msg, pk) => ed25519Verify(sig, msg, pk),
    });
    const log: string[] = [];
    const onError = (err: Error): void => {
      log.push(`error: ${err.message}`);
    };
    dht.on('error', onError);
    dht.on('warning', (err: Error) => log.push(`warning: ${err.message}`));
    // bind now, before the constructor's nextTick bootstrap sends anything
    dht.listen(opts.port ?? 0, LOOPBACK);
    const readyTimeoutMs = opts.readyTimeoutMs ?? 10000;
    try {
      await bounded(
        'start',
        readyTimeoutMs,
        new Promise<void>((resolve, reject) => {
          let listening = dht.listening;
          let ready = dht.ready;
          const check = (): void => {
            if (listening && ready) resolve();
          };
          dht.once('listening', () => {
            listening = true;
            check();
          });
          dht.once('ready', () => {
            ready = true;
            check();
          });
          dht.once('error', (err: Error) =>
            reject(new Error(`bittorrent-dht failed to start: ${err.message}`)),
          );
          check();
        }),
      );
    } catch (err) {
      dht.destroy();
      throw new Error(`${(err as Error).message}\n${log.join('\n')}`);
    }
    const peer = new BittorrentDhtPeer(dht, dht.address().port);
    peer.events.push(...log);
    dht.removeListener('error', onError);
    dht.on('error', (err: Error) => peer.events.push(`error: ${err.message}`));
    return peer;
  }

  private alive(): void {
    if (this.stopped !== null) throw new Error('bittorrent-dht peer is stopped');
  }

  async status(): Promise<PeerStatus> {
    return { port: this.port, nodeIdHex: this.nodeIdHex, dhtNodes: this.dht.nodes.count() };
  }

  async addNode(node: PeerAddress): Promise<void> {
    this.alive();
    this.dht.addNode({ host: node.host, port: node.port });
  }

  async bootstrap(nodes: PeerAddress[], opts: BootstrapOptions = {}): Promise<{ dhtNodes: number }> {
    this.alive();
    const ms = opts.timeoutMs ?? 5000;
    const minNodes = opts.minNodes ?? 1;
    for (const n of nodes) this.dht.addNode({ host: n.host, port: n.port });
    const waitFor = (count: number, what: string): Promise<void> =>
      bounded(
        what,
        ms,
        new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if (this.dht.nodes.count() >= count || this.stopped !== null) {
              clearInterval(poll);
              resolve();
            }
          }, 20);
          poll.unref();
          setTimeout(() => clearInterval(poll), ms).unref();
        }),
      );
    // addNode pings; the bootstrap nodes enter the table when they answer.
    await waitFor(1, 'bootstrap');
    // A lookup of our own id pulls the bootstrap nodes' neighbours into the table.
    await bounded(
      'bootstrap self-lookup',
      ms,
      new Promise<void>((resolve) => this.dht.lookup(this.dht.nodeId, () => resolve())),
    );
    await waitFor(minNodes, `bootstrap to ${minNodes} nodes`);
    return { dhtNodes: this.dht.nodes.count() };
  }

  /**
   * bittorrent-dht first does a get_peers lookup (to collect tokens), then sends announce_peer to
   * the closest nodes. With no port it sends implied_port=1 (the receiver uses our UDP port).
   */
  async announce(infohashHex: string, opts: WaitOptions & { port?: number } = {}): Promise<AnnounceResult> {
    this.alive();
    const ih = Buffer.from(assertHex(infohashHex, 20, 'infohash'), 'hex');
    const port = opts.port ?? 0;
    const acks = await bounded(
      'announce',
      opts.timeoutMs ?? DEFAULT_WAIT_MS,
      new Promise<number>((resolve, reject) => {
        this.dht.announce(ih, port, (err, n) => (err ? reject(err) : resolve(n ?? 0)));
      }),
    );
    return { port: port === 0 ? this.port : port, acks };
  }

  async getPeers(
    infohashHex: string,
    opts: WaitOptions & { untilPeers?: number } = {},
  ): Promise<GetPeersResult> {
    this.alive();
    const ihHex = assertHex(infohashHex, 20, 'infohash');
    const started = Date.now();
    const found = new Map<string, PeerAddress>();
    const ms = opts.timeoutMs ?? 5000;
    return new Promise<GetPeersResult>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.dht.removeListener('peer', onPeer);
        abort();
        resolve({ peers: [...found.values()], elapsedMs: Date.now() - started });
      };
      const onPeer = (peer: PeerAddress, ih: Buffer): void => {
        if (ih.toString('hex') !== ihHex) return;
        found.set(`${peer.host}:${peer.port}`, { host: peer.host, port: peer.port });
        if (opts.untilPeers !== undefined && opts.untilPeers > 0 && found.size >= opts.untilPeers) finish();
      };
      const timer = setTimeout(finish, ms);
      this.dht.on('peer', onPeer);
      const abort = this.dht.lookup(ihHex, () => finish());
    });
  }

  async putImmutable(value: InteropValue, opts: WaitOptions = {}): Promise<PutImmutableResult> {
    this.alive();
    const raw = toRaw(value);
    const { key, n } = await bounded(
      'put immutable',
      opts.timeoutMs ?? DEFAULT_WAIT_MS,
      new Promise<{ key: Buffer; n: number }>((resolve, reject) => {
        this.dht.put({ v: raw }, (err, key, n) => (err ? reject(err) : resolve({ key, n })));
      }),
    );
    return { targetHex: key.toString('hex'), numSuccess: n };
  }

  async getImmutable(targetHex: string, opts: WaitOptions = {}): Promise<GetImmutableResult> {
    this.alive();
    const target = assertHex(targetHex, 20, 'target');
    // cache: false, or a value this node put itself is answered from its own store
    const res = await this.get(target, { cache: false }, opts);
    if (res === null) return { targetHex: target, found: false, value: null, valueBencodedHex: null };
    const bytes = bencode(res.v);
    return { targetHex: target, found: true, value: fromRaw(res.v), valueBencodedHex: bytes.toString('hex') };
  }

  /**
   * Mirrors libtorrent: seq = (highest seq found in the DHT) + 1, or 1. The signature is made
   * here (node:crypto) over the BEP 44 signed bytes and sent as `sig`.
   */
  async putMutable(req: PutMutableRequest, opts: WaitOptions = {}): Promise<PutMutableResult> {
    this.alive();
    const keys = ed25519FromSeed(assertHex(req.seedHex, 32, 'seed'));
    const salt = Buffer.from(req.salt ?? '', 'utf8');
    const publicKeyHex = keys.publicKey.toString('hex');
    const current = await this.getMutable(publicKeyHex, req.salt ?? '', opts);
    const seq = current.seq === null ? 1 : current.seq + 1;
    const v = Buffer.from(req.value, 'utf8');
    const sig = ed25519Sign(keys, mutableSignedBytes(bencode(v), seq, salt));
    const n = await bounded(
      'put mutable',
      opts.timeoutMs ?? DEFAULT_WAIT_MS,
      new Promise<number>((resolve, reject) => {
        this.dht.put(
          { k: keys.publicKey, v, seq, sig, ...(salt.length > 0 ? { salt } : {}) },
          (err, _key, n) => (err ? reject(err) : resolve(n)),
        );
      }),
    );
    return { publicKeyHex, salt: req.salt ?? '', seq, signatureHex: sig.toString('hex'), numSuccess: n };
  }

  async getMutable(publicKeyHex: string, salt = '', opts: WaitOptions = {}): Promise<GetMutableResult> {
    this.alive();
    const pk = Buffer.from(assertHex(publicKeyHex, 32, 'public key'), 'hex');
    const saltBytes = Buffer.from(salt, 'utf8');
    const target = sha1(Buffer.concat([pk, saltBytes])).toString('hex');
    const res = await this.get(
      target,
      { cache: false, ...(saltBytes.length > 0 ? { salt: saltBytes } : {}) },
      opts,
    );
    const base = { publicKeyHex: pk.toString('hex'), salt };
    if (res === null || res.sig === undefined || typeof res.seq !== 'number') {
      return { ...base, found: false, seq: null, signatureHex: null, value: null, valueBencodedHex: null };
    }
    return {
      ...base,
      found: true,
      seq: res.seq,
      signatureHex: res.sig.toString('hex'),
      value: fromRaw(res.v),
      valueBencodedHex: bencode(res.v).toString('hex'),
    };
  }

  private get(
    targetHex: string,
    getOpts: { cache: boolean; salt?: Buffer },
    opts: WaitOptions,
  ): Promise<GetResult | null> {
    return bounded(
      'get',
      opts.timeoutMs ?? DEFAULT_WAIT_MS,
      new Promise<GetResult | null>((resolve, reject) => {
        this.dht.get(targetHex, getOpts, (err, res) => (err ? reject(err) : resolve(res)));
      }),
    );
  }

  stop(): Promise<void> {
    if (this.stopped === null) {
      this.stopped = new Promise<void>((resolve) => {
        const force = setTimeout(resolve, 2000);
        this.dht.destroy(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    return this.stopped;
  }
}
