import { readFileSync } from 'node:fs';
import { parseOverlayBootstrap } from '../../node/overlay-tcp.js';
import { fromHex, toHex } from '../../util/bytes.js';
import { type UniversalConfig, UniversalClient } from '../../universal/client.js';
import {
  federatedConfig,
  federationFromJson,
  fetchFromMainline,
  resolveFederation,
} from '../../universal/federation.js';
import { infohashFromName } from '../../universal/keys.js';
import type { NetworkFailure } from '../../universal/merge.js';
import type { NodeResult, PeerResult, RecordResult } from '../../universal/types.js';
import { parse, parseTimeoutMs, UsageError } from '../args.js';
import { createOutput } from '../output.js';
import type { Command } from './types.js';

const OPTIONS = {
  mainline: { type: 'string', multiple: true },
  overlay: { type: 'string', multiple: true },
  ipfs: { type: 'string', multiple: true },
  'ipfs-protocol': { type: 'string' },
  ethereum: { type: 'string', multiple: true },
  hyperswarm: { type: 'string', multiple: true },
  federation: { type: 'string' },
  name: { type: 'string' },
  salt: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const list = (v: string[] | undefined): string[] => (v ?? []).flatMap((s) => s.split(',')).filter(Boolean);

export const multi: Command = {
  name: 'multi',
  summary: 'ask several DHTs at once: Mainline, overlay, IPFS, Ethereum, Hyperswarm',
  help: `Usage: kadmium multi peers INFOHASH|--name NAME  [networks] [options]
       kadmium multi get PUBKEY [--salt TEXT]        [networks] [options]
       kadmium multi node ID                         [networks] [options]

Asks every network given a bootstrap (docs/MULTI-DHT.md) and prints the answers as they arrive,
each tagged with its network; a network that fails is printed and the others go on.

Networks (repeat or comma-separate):
      --mainline HOST:PORT       Mainline bootstrap
      --overlay PUBKEY@HOST:PORT overlay bootstrap
      --ipfs MULTIADDR           libp2p kad-dht bootstrap (with /p2p/ID); --ipfs-protocol ID
      --ethereum ENR             discv5 bootstrap (enr:...)
      --hyperswarm HOST:PORT     hyperdht bootstrap
      --federation FILE          a signed federation list (JSON); joins every network it and
                                 the operators it vouches for list (needs its Mainline entries)
Options:
      --timeout SECONDS          per network (default 30)
      --json                     one JSON document
  -h, --help                     this help`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS);
    const out = createOutput(values.json ?? false);
    const [sub, arg] = positionals;
    const timeoutMs = parseTimeoutMs(values.timeout, 30_000);
    let config: UniversalConfig = {};
    if (values.mainline) config.mainline = { bootstrap: list(values.mainline) };
    if (values.overlay) config.overlay = { bootstrap: list(values.overlay).map(parseOverlayBootstrap) };
    if (values.ipfs) config.ipfs = { bootstrap: list(values.ipfs), protocol: values['ipfs-protocol'] };
    if (values.ethereum) config.ethereum = { bootstrap: list(values.ethereum) };
    if (values.hyperswarm) config.hyperswarm = { bootstrap: list(values.hyperswarm) };
    if (values.federation) {
      const start = federationFromJson(readFileSync(values.federation, 'utf8'));
      const first = await resolveFederation(start, async () => undefined);
      const seed = await UniversalClient.create({ mainline: federatedConfig(first).mainline ?? {} });
      try {
        const fed = await resolveFederation(start, fetchFromMainline(seed));
        for (const r of fed.refused) out.info(`federation: refused ${r.operator}: ${r.reason}`);
        config = { ...federatedConfig(fed), ...config };
      } finally {
        await seed.close();
      }
    }
    if (Object.keys(config).length === 0)
      throw new UsageError(
        'give at least one network bootstrap (--mainline, --hyperswarm, ...) or --federation',
      );
    let stream: AsyncIterable<PeerResult | NodeResult | RecordResult | NetworkFailure>;
    const client = await UniversalClient.create(config);
    try {
      if (sub === 'peers') {
        const infohash = values.name !== undefined ? infohashFromName(values.name) : fromHex(arg ?? '');
        if (!infohash || infohash.length !== 20)
          throw new UsageError('peers needs a 40-hex infohash or --name NAME');
        stream = client.findPeers(infohash, { timeoutMs });
      } else if (sub === 'get') {
        const publicKey = fromHex(arg ?? '');
        if (!publicKey) throw new UsageError('get needs the publisher public key in hex');
        const salt = values.salt !== undefined ? new TextEncoder().encode(values.salt) : undefined;
        stream = client.getRecord({ publicKey, salt }, { timeoutMs });
      } else if (sub === 'node') {
        const id = fromHex(arg ?? '');
        if (!id) throw new UsageError('node needs a node id in hex');
        stream = client.findNode(id, { timeoutMs });
      } else {
        throw new UsageError(`unknown subcommand "${sub ?? ''}": use peers, get or node`);
      }
      const results: unknown[] = [];
      let answers = 0;
      for await (const r of stream) {
        results.push(
          r.kind === 'failure' ? { kind: 'failure', network: r.network, error: r.error.message } : r,
        );
        if (r.kind === 'failure') out.line(`${r.network}\tfailed: ${r.error.message}`);
        else {
          answers++;
          if (r.kind === 'peer') out.line(`${r.network}\tpeer\t${r.addresses.join(' ')}`);
          else if (r.kind === 'node')
            out.line(`${r.network}\tnode\t${toHex(r.id)}\t${r.addresses.join(' ')}`);
          else
            out.line(
              `${r.network}\trecord\tseq ${r.record.seq}\t${Buffer.from(r.record.value).toString('utf8')}`,
            );
        }
      }
      out.result({ networks: client.networks, results });
      return answers > 0 ? 0 : 1;
    } finally {
      await client.close();
    }
  },
};
