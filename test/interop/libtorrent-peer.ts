// LibtorrentPeer: a real libtorrent (python3-libtorrent) DHT node in a child process, on
// 127.0.0.1, driven through test/interop/lt_node.py's JSON-lines protocol.
//
// It never skips: if /usr/bin/python3 or the bindings are missing, start() rejects with the
// child's stderr (install with scripts/deps/libtorrent.sh).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  type AnnounceResult,
  assertHex,
  type BootstrapOptions,
  type GetImmutableResult,
  type GetMutableResult,
  type GetPeersResult,
  type InteropPeer,
  type InteropValue,
  LOOPBACK,
  type PeerAddress,
  type PeerStatus,
  type PutImmutableResult,
  type PutMutableRequest,
  type PutMutableResult,
  TailBuffer,
  type WaitOptions,
} from './common.js';

/** Debian's interpreter: the bindings do not import under a pyenv python3 that may be on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** dist/test/interop/*.js -> test/interop/lt_node.py in the source tree (and the same dir in src). */
export function ltNodeScriptPath(): string {
  const candidates = [
    new URL('../../../test/interop/lt_node.py', import.meta.url),
    new URL('./lt_node.py', import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`lt_node.py not found; looked in ${candidates.join(', ')}`);
  return found;
}

export interface LibtorrentPeerOptions {
  /** UDP/TCP port on 127.0.0.1; 0 (default) lets the kernel choose. */
  port?: number;
  /**
   * Set as libtorrent's dht_bootstrap_nodes before the DHT starts. Quirk: libtorrent treats
   * these as routers and never puts them in its routing table; prefer bootstrap()/addNode().
   */
  routers?: PeerAddress[];
  /** How long to wait for the "ready" line (default 15 s). */
  readyTimeoutMs?: number;
  /** Added to every request's own timeout_ms to bound the round trip (default 5 s). */
  requestMarginMs?: number;
  /** Interpreter (default /usr/bin/python3). */
  python?: string;
}

interface ReadyLine {
  event: 'ready';
  port: number;
  node_id: string;
  libtorrent: string;
}

interface Waiter {
  cmd: string;
  resolve: (value: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUTS: Record<string, number> = {
  bootstrap: 5000,
  announce: 10000,
  get_peers: 5000,
  put_immutable: 10000,
  get_immutable: 10000,
  put_mutable: 10000,
  get_mutable: 10000,
};

export class LibtorrentPeer implements InteropPeer {
  readonly kind = 'libtorrent';
  readonly address: PeerAddress;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private exited: string | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly stderr: TailBuffer,
    readonly port: number,
    readonly nodeIdHex: string,
    readonly libtorrentVersion: string,
    private readonly marginMs: number,
  ) {
    this.address = { host: LOOPBACK, port };
  }

  static async start(opts: LibtorrentPeerOptions = {}): Promise<LibtorrentPeer> {
    // KADMIUM_TEST_PYTHON stands in for a missing or removed libtorrent (the runner's own tests).
    const python = opts.python ?? process.env.KADMIUM_TEST_PYTHON ?? SYSTEM_PYTHON;
    const script = ltNodeScriptPath();
    const args = [script, '--port', String(opts.port ?? 0)];
    if (opts.routers && opts.routers.length > 0) {
      args.push('--bootstrap', opts.routers.map((r) => `${r.host}:${r.port}`).join(','));
    }
    const readyTimeoutMs = opts.readyTimeoutMs ?? 15000;
    args.push('--ready-timeout', String(readyTimeoutMs / 1000));
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr = new TailBuffer();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => stderr.push(chunk));
    const lines = createInterface({ input: child.stdout });

    let peer: LibtorrentPeer | null = null;
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`libtorrent peer failed to start: ${why}\n--- ${python} stderr ---\n${stderr}`));
      };
      const timer = setTimeout(
        () => fail(`no ready line within ${readyTimeoutMs} ms`),
        readyTimeoutMs + 2000,
      );
      child.once('error', (err) => fail(`spawn error: ${err.message}`));
      child.once('exit', (code, signal) => {
        // give stderr a moment to drain before reporting
        setTimeout(() => fail(`exited early (code ${code}, signal ${signal})`), 50);
      });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          const msg = JSON.parse(line) as Partial<ReadyLine>;
          if (msg.event !== 'ready' || typeof msg.port !== 'number' || typeof msg.node_id !== 'string') {
            throw new Error(`unexpected first line ${line}`);
          }
          resolve(msg as ReadyLine);
        } catch (err) {
          fail(`bad ready line: ${(err as Error).message}`);
        }
      });
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');

    peer = new LibtorrentPeer(
      child,
      stderr,
      ready.port,
      ready.node_id,
      ready.libtorrent,
      opts.requestMarginMs ?? 5000,
    );
    const p = peer;
    lines.on('line', (line) => p.onLine(line));
    child.on('error', (err) => p.onExit(`child error: ${err.message}`));
    child.on('exit', (code, signal) => p.onExit(`exited (code ${code}, signal ${signal})`));
    return p;
  }

  /** The child's recent stderr (libtorrent node diagnostics). */
  stderrTail(): string {
    return this.stderr.toString();
  }

  private onLine(line: string): void {
    let msg: { id?: unknown; ok?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.failAll(`unparseable line from lt_node.py: ${line}`);
      return;
    }
    if (typeof msg.id !== 'number') {
      this.failAll(`lt_node.py error without a request id: ${line}`);
      return;
    }
    const w = this.waiters.get(msg.id);
    if (w === undefined) return; // a reply after our own timeout
    this.waiters.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.ok === true) w.resolve((msg.result ?? {}) as Record<string, unknown>);
    else w.reject(new Error(`libtorrent ${w.cmd} failed: ${String(msg.error)}`));
  }

  private onExit(why: string): void {
    if (this.exited !== null) return;
    this.exited = why;
    // let the stderr pipe drain before building error messages
    setTimeout(() => this.failAll(`libtorrent child ${why}`), 50);
  }

  private failAll(why: string): void {
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(id);
      w.reject(new Error(`${why}\n--- lt_node.py stderr ---\n${this.stderr}`));
    }
  }

  /** Sends one command and resolves with its result; bounded by timeout_ms + margin. */
  request(cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.exited !== null || this.stopping !== null) {
      return Promise.reject(
        new Error(`libtorrent peer is gone (${this.exited ?? 'stopping'})\n--- stderr ---\n${this.stderr}`),
      );
    }
    const id = this.nextId++;
    const ownTimeout = typeof args.timeout_ms === 'number' ? args.timeout_ms : (DEFAULT_TIMEOUTS[cmd] ?? 0);
    const bound = ownTimeout + this.marginMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(
          new Error(`libtorrent ${cmd} got no answer within ${bound} ms\n--- stderr ---\n${this.stderr}`),
        );
      }, bound);
      this.waiters.set(id, { cmd, resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
  }

  async status(): Promise<PeerStatus> {
    const r = await this.request('status');
    return { port: r.port as number, nodeIdHex: r.node_id as string, dhtNodes: r.dht_nodes as number };
  }

  async addNode(node: PeerAddress): Promise<void> {
    await this.request('add_node', { host: node.host, port: node.port });
  }

  async bootstrap(nodes: PeerAddress[], opts: BootstrapOptions = {}): Promise<{ dhtNodes: number }> {
    const r = await this.request('bootstrap', {
      nodes: nodes.map((n) => ({ host: n.host, port: n.port })),
      min_nodes: opts.minNodes ?? 1,
      ...timeout(opts),
    });
    return { dhtNodes: r.dht_nodes as number };
  }

  /**
   * libtorrent announces through a torrent added by infohash (the bindings cannot pass
   * dht_announce flags), so only its own listen port can be announced: `port` must be absent or
   * equal to this.port.
   */
  async announce(infohashHex: string, opts: WaitOptions & { port?: number } = {}): Promise<AnnounceResult> {
    const args: Record<string, unknown> = {
      infohash_hex: assertHex(infohashHex, 20, 'infohash'),
      ...timeout(opts),
    };
    if (opts.port !== undefined) args.port = opts.port;
    const r = await this.request('announce', args);
    return { port: r.port as number, acks: (r.acked as unknown[]).length };
  }

  async getPeers(
    infohashHex: string,
    opts: WaitOptions & { untilPeers?: number } = {},
  ): Promise<GetPeersResult> {
    const r = await this.request('get_peers', {
      infohash_hex: assertHex(infohashHex, 20, 'infohash'),
      until_peers: opts.untilPeers ?? 0,
      ...timeout(opts),
    });
    return { peers: r.peers as PeerAddress[], elapsedMs: r.elapsed_ms as number };
  }

  async putImmutable(value: InteropValue, opts: WaitOptions = {}): Promise<PutImmutableResult> {
    const r = await this.request('put_immutable', { value, ...timeout(opts) });
    return { targetHex: r.target_hex as string, numSuccess: r.num_success as number };
  }

  /** Puts exact bytes: any bencoded value, including non-UTF-8 strings. */
  async putImmutableBencoded(valueBencodedHex: string, opts: WaitOptions = {}): Promise<PutImmutableResult> {
    const r = await this.request('put_immutable', { value_bencoded_hex: valueBencodedHex, ...timeout(opts) });
    return { targetHex: r.target_hex as string, numSuccess: r.num_success as number };
  }

  async getImmutable(targetHex: string, opts: WaitOptions = {}): Promise<GetImmutableResult> {
    const r = await this.request('get_immutable', {
      target_hex: assertHex(targetHex, 20, 'target'),
      ...timeout(opts),
    });
    return {
      targetHex: r.target_hex as string,
      found: r.found as boolean,
      value: (r.value ?? null) as InteropValue | null,
      valueBencodedHex: (r.value_bencoded_hex ?? null) as string | null,
    };
  }

  /** seq is chosen by libtorrent: (highest seq found in the DHT) + 1. */
  async putMutable(req: PutMutableRequest, opts: WaitOptions = {}): Promise<PutMutableResult> {
    const r = await this.request('put_mutable', {
      seed_hex: assertHex(req.seedHex, 32, 'seed'),
      value: req.value,
      salt: req.salt ?? '',
      ...timeout(opts),
    });
    return {
      publicKeyHex: r.public_key_hex as string,
      salt: r.salt as string,
      seq: r.seq as number,
      signatureHex: r.signature_hex as string,
      numSuccess: r.num_success as number,
    };
  }

  async getMutable(publicKeyHex: string, salt = '', opts: WaitOptions = {}): Promise<GetMutableResult> {
    const r = await this.request('get_mutable', {
      public_key_hex: assertHex(publicKeyHex, 32, 'public key'),
      salt,
      ...timeout(opts),
    });
    const found = r.value_bencoded_hex !== null && r.value_bencoded_hex !== undefined;
    return {
      publicKeyHex: r.public_key_hex as string,
      salt: r.salt as string,
      found,
      seq: found ? (r.seq as number) : null,
      signatureHex: found ? (r.signature_hex as string) : null,
      value: (r.value ?? null) as InteropValue | null,
      valueBencodedHex: (r.value_bencoded_hex ?? null) as string | null,
    };
  }

  /** Asks the node to quit, then kills it if it has not exited within 2 s. Always resolves. */
  stop(): Promise<void> {
    if (this.stopping === null) {
      this.stopping = new Promise<void>((resolve) => {
        if (this.exited !== null || this.child.exitCode !== null || this.child.signalCode !== null) {
          resolve();
          return;
        }
        const kill = setTimeout(() => this.child.kill('SIGKILL'), 2000);
        this.child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        try {
          this.child.stdin.end(`${JSON.stringify({ id: 0, cmd: 'quit' })}\n`);
        } catch {
          this.child.kill('SIGKILL');
        }
      });
    }
    return this.stopping;
  }
}

function timeout(opts: WaitOptions): { timeout_ms?: number } {
  return opts.timeoutMs === undefined ? {} : { timeout_ms: opts.timeoutMs };
}
