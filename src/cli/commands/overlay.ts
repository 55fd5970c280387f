import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  formatOverlayBootstrap,
  listenOverlay,
  parseOverlayBootstrap,
  createOverlayTestnet,
} from '../../node/overlay-tcp.js';
import type { OverlayNode } from '../../node/overlay-node.js';
import { OverlayIdentity } from '../../protocols/overlay/identity.js';
import { loadKeyFile, saveKeyFile } from '../../protocols/overlay/key-file.js';
import { overlayRecordSupersedes } from '../../protocols/overlay/store.js';
import {
  DEFAULT_PUZZLE_DIFFICULTY,
  NO_PUZZLE,
  type PuzzleDifficulty,
} from '../../protocols/overlay/puzzle.js';
import { openBackends } from '../../storage/open.js';
import { fromHex, toHex } from '../../util/bytes.js';
import { KadmiumError } from '../../util/errors.js';
import {
  COMMON_OPTIONS,
  parse,
  parseOverlayPeers,
  parsePort,
  parsePositiveInt,
  parseTimeoutMs,
  UsageError,
} from '../args.js';
import { createOutput, type Output } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  bootstrap: COMMON_OPTIONS.bootstrap,
  port: COMMON_OPTIONS.port,
  host: COMMON_OPTIONS.host,
  timeout: COMMON_OPTIONS.timeout,
  json: COMMON_OPTIONS.json,
  help: COMMON_OPTIONS.help,
  key: { type: 'string', short: 'k' },
  out: { type: 'string', short: 'o' },
  salt: { type: 'string' },
  nodes: { type: 'string', short: 'n' },
  'data-dir': { type: 'string' },
  redis: { type: 'string' },
  'full-node': { type: 'boolean' },
  difficulty: { type: 'string' },
  paths: { type: 'string' },
  trust: { type: 'string', multiple: true },
} as const;

export const overlay: Command = {
  name: 'overlay',
  summary: 'the secp256k1 overlay DHT (Skywire-style signed items): keygen, start, put, get, testnet',
  help: `Usage: kadmium overlay <keygen|start|put|get|testnet> [options]

The overlay is a second DHT beside Mainline: 256-bit ids that are SHA-256 of a secp256k1 key,
signed mutable items under (key, salt), encrypted and authenticated TCP between nodes. Nodes are
named PUBKEY@HOST:PORT (66 hex characters, then the address).

  keygen [--out FILE]           a key file (mode 0600) meeting the network's puzzles
  start [--port N] [--key FILE] a node in the foreground; prints its PUBKEY@HOST:PORT
  put VALUE --key FILE          sign VALUE under the key (and --salt) and store it
  get PUBKEY [--salt S]         fetch and verify the latest item of PUBKEY under S
  testnet [--nodes N]           N nodes on loopback; prints the first one's address

Options:
  -b, --bootstrap PK@HOST:PORT  nodes to join through (repeatable; required except for testnet
                                and the first node of a network)
  -k, --key FILE                key file (start: default ~/.kadmium/overlay.key, made if missing)
  -o, --out FILE                keygen: where to write (default ~/.kadmium/overlay.key)
      --salt TEXT               item namespace, e.g. dmsg, svc, tp (default none)
  -p, --port N                  TCP port (start: default 7900; 0 = any)
      --host ADDR               listen address (default 127.0.0.1)
      --data-dir DIR            start: keep items and seqs in DIR/overlay.sqlite (default memory)
      --redis URL               start: keep them in Redis instead (full nodes on one Redis share
                                one dataset), e.g. redis://127.0.0.1:6379
      --full-node               start: store every item, not only the ones close to our id
      --difficulty S/D          puzzle bits: static/dynamic (default ${DEFAULT_PUZZLE_DIFFICULTY.staticBits}/${DEFAULT_PUZZLE_DIFFICULTY.dynamicBits}; testnet 0/0)
      --paths D                 disjoint lookup paths (default 3)
      --trust PK                start, testnet: keep mirrors signed by this key and never expire
                                its items (a discovery server's key; repeatable)
  -n, --nodes N                 testnet size (default 20)
      --timeout SECONDS         give up after this long (default 30)
      --json                    one JSON document for scripts
  -h, --help                    this help

Examples:
  kadmium overlay testnet --nodes 20 --port 7900
  kadmium overlay keygen --out alice.key --difficulty 0/0
  kadmium overlay put 'hello' --key alice.key --salt dmsg --difficulty 0/0 --bootstrap PK@127.0.0.1:7900
  kadmium overlay get 02ab...ef --salt dmsg --difficulty 0/0 --bootstrap PK@127.0.0.1:7900`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const [sub, ...args] = positionals;
    const difficulty = parseDifficulty(
      values.difficulty,
      sub === 'testnet' ? NO_PUZZLE : DEFAULT_PUZZLE_DIFFICULTY,
    );
    const timeoutMs = parseTimeoutMs(values.timeout, 30_000);
    const paths = parsePositiveInt(values.paths, 3, '--paths', 16);
    const parsedBootstrap = parseOverlayPeers(values.bootstrap, '--bootstrap');
    switch (sub) {
      case 'keygen': {
        const path = values.out ?? defaultKeyPath();
        if (existsSync(path)) throw new UsageError(`${path} exists; remove it or pass another --out`);
        out.info(`generating a key for puzzles ${difficulty.staticBits}/${difficulty.dynamicBits}...`);
        const identity = OverlayIdentity.generate(difficulty);
        saveKeyFile(path, identity);
        out.result({ path, publicKey: identity.publicKey, id: identity.id });
        out.line(`wrote ${path}\npublic key ${toHex(identity.publicKey)}\nid         ${toHex(identity.id)}`);
        return 0;
      }
      case 'start': {
        const identity = loadOrCreateKey(values.key ?? defaultKeyPath(), difficulty, out);
        if (values.redis && values['data-dir']) throw new UsageError('give --data-dir or --redis, not both');
        const backends = values.redis
          ? await openBackends({
              kind: 'redis',
              url: values.redis,
              namespace: 'kadmium:overlay:',
              supersedes: overlayRecordSupersedes,
              onBreaker: (c) => out.info(c.detail),
            })
          : values['data-dir']
            ? await openBackends({
                kind: 'sqlite',
                path: join(ensureDir(values['data-dir']), 'overlay.sqlite'),
              })
            : undefined;
        const node = await listenOverlay({
          identity,
          difficulty,
          paths,
          bootstrap: parsedBootstrap,
          host: values.host ?? '127.0.0.1',
          port: parsePort(values.port, 7900),
          fullNode: values['full-node'] ?? false,
          ...(backends ? { backends } : {}),
          ...trusted(values.trust),
        });
        const joined = await node.start({ timeoutMs });
        out.result({ address: formatOverlayBootstrap(node), joined });
        out.line(`overlay node ${formatOverlayBootstrap(node)}\n${joined.message}\nCtrl-C to stop.`);
        await waitForSignal();
        await node.close();
        return 0;
      }
      case 'put': {
        const [value] = args;
        if (value === undefined) throw new UsageError('put needs a VALUE');
        if (!values.key) throw new UsageError('put needs --key FILE (kadmium overlay keygen makes one)');
        const identity = loadKeyFile(values.key, difficulty);
        return withClient(identity, parsedBootstrap, difficulty, paths, timeoutMs, async (node) => {
          const result = await node.put(new TextEncoder().encode(value), { timeoutMs, ...salt(values.salt) });
          out.result(result);
          out.line(
            `stored on ${result.stored} of ${result.asked} nodes at seq ${result.seq}\ntarget ${toHex(result.target)}`,
          );
          return result.stored > 0 ? 0 : 1;
        });
      }
      case 'get': {
        const publicKey = fromHex(args[0] ?? '');
        if (!publicKey || publicKey.length !== 33)
          throw new UsageError('get needs PUBKEY: 66 hex characters');
        const identity = OverlayIdentity.generate(difficulty);
        return withClient(identity, parsedBootstrap, difficulty, paths, timeoutMs, async (node) => {
          const got = await node.get(publicKey, { timeoutMs, ...salt(values.salt) });
          out.result(got ?? null);
          if (!got) {
            out.line('not found');
            return 1;
          }
          out.line(
            got.deleted
              ? `deleted at seq ${got.item.seq}`
              : `${new TextDecoder().decode(got.item.v)}\n(seq ${got.item.seq}, from ${got.sources} nodes)`,
          );
          return 0;
        });
      }
      case 'testnet': {
        const size = parsePositiveInt(values.nodes, 20, '--nodes', 2_000);
        const net = await createOverlayTestnet(size, {
          difficulty,
          paths,
          host: values.host ?? '127.0.0.1',
          port: parsePort(values.port, 0),
          ...trusted(values.trust),
          onProgress: (n, total) => out.info(`started ${n}/${total}`),
        });
        const first = net.nodes[0] as OverlayNode;
        out.result({ bootstrap: formatOverlayBootstrap(first), nodes: size });
        out.line(
          `${size} overlay nodes; join with --bootstrap ${formatOverlayBootstrap(first)} --difficulty ${difficulty.staticBits}/${difficulty.dynamicBits}\nCtrl-C to stop.`,
        );
        await waitForSignal();
        await net.destroy();
        return 0;
      }
      default:
        throw new UsageError(
          `overlay needs a subcommand: keygen, start, put, get or testnet (got "${sub ?? ''}")`,
        );
    }
  },
};

function parseDifficulty(text: string | undefined, fallback: PuzzleDifficulty): PuzzleDifficulty {
  if (text === undefined) return fallback;
  const m = /^(\d{1,2})\/(\d{1,2})$/.exec(text);
  if (!m) throw new UsageError(`--difficulty must be STATIC/DYNAMIC bits, like 10/16, got "${text}"`);
  return { staticBits: Number(m[1]), dynamicBits: Number(m[2]) };
}

function defaultKeyPath(): string {
  return join(homedir(), '.kadmium', 'overlay.key');
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function loadOrCreateKey(path: string, difficulty: PuzzleDifficulty, out: Output): OverlayIdentity {
  if (existsSync(path)) return loadKeyFile(path, difficulty);
  out.info(`no key at ${path}: generating one (puzzles ${difficulty.staticBits}/${difficulty.dynamicBits})`);
  ensureDir(join(path, '..'));
  const identity = OverlayIdentity.generate(difficulty);
  saveKeyFile(path, identity);
  return identity;
}

function trusted(keys: string[] | undefined): { storeOptions?: { trusted: Set<string> } } {
  if (!keys || keys.length === 0) return {};
  const set = new Set<string>();
  for (const k of keys.flatMap((x) => x.split(','))) {
    const key = fromHex(k);
    if (!key || key.length !== 33)
      throw new UsageError(`--trust needs a public key (66 hex characters), got "${k}"`);
    set.add(toHex(key));
  }
  return { storeOptions: { trusted: set } };
}

function salt(text: string | undefined): { salt?: Uint8Array } {
  return text === undefined ? {} : { salt: new TextEncoder().encode(text) };
}

async function withClient(
  identity: OverlayIdentity,
  bootstrap: ReturnType<typeof parseOverlayBootstrap>[],
  difficulty: PuzzleDifficulty,
  paths: number,
  timeoutMs: number,
  fn: (node: OverlayNode) => Promise<number>,
): Promise<number> {
  if (bootstrap.length === 0)
    throw new UsageError('give --bootstrap PUBKEY@HOST:PORT (a node of the network)');
  const node = await listenOverlay({ identity, bootstrap, difficulty, paths, advertise: false });
  try {
    const joined = await node.start({ timeoutMs });
    if (!joined.ok) throw new KadmiumError('NO_NODES', joined.message);
    return await fn(node);
  } finally {
    await node.close();
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
