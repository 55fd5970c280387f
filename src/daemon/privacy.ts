/**
 * What this node keeps about other people, for how long, and why: the answer /api/privacy gives
 * and the dashboard shows. Built from the running configuration and the node's own limits, so
 * it cannot drift from what the code does.
 */
import type { Dht } from '../node/dht.js';
import { DEFAULT_BOOTSTRAP } from '../node/defaults.js';
import { DEFAULT_ANOMALY_OPTIONS, PREFIX_RULES } from '../services/anomaly.js';
import type { Statistics } from '../services/statistics.js';
import type { DaemonConfig } from './config.js';

/** Who runs the public routers (from their operators' own pages; see docs/PRIVACY.md). */
export const ROUTER_OPERATORS: Readonly<Record<string, string>> = {
  'router.bittorrent.com:6881': 'BitTorrent, Inc. (uTorrent, BitTorrent clients)',
  'router.utorrent.com:6881': 'BitTorrent, Inc. (uTorrent, BitTorrent clients)',
  'dht.transmissionbt.com:6881': 'the Transmission project',
  'dht.libtorrent.org:25401': 'the libtorrent project (Arvid Norberg)',
  'dht.aelitis.com:6881': 'Aelitis (Vuze / Azureus)',
};

export interface PrivacyCategory {
  what: string;
  /** How many are held now, when the node can tell cheaply. */
  held: number | null;
  retention: string;
  why: string;
  /** The config key that bounds it, when there is one. */
  key?: string;
}

/** privacy.rotate_every_s as the report shows it. */
export interface RotationReport {
  /** Seconds between rotations; 0 = off. */
  everyS: number;
  /** Rotations since the daemon started. */
  rotations: number;
  hides: string;
  doesNotHide: string;
}

export interface PrivacyReport {
  profile: 'standard' | 'private';
  readOnly: boolean;
  rotation: RotationReport;
  categories: PrivacyCategory[];
  bootstrap: { router: string; operator: string }[];
}

export async function privacyReport(
  config: DaemonConfig,
  dht: Dht,
  stats: Statistics,
  rotation: { everyS: number; rotations: number } = { everyS: 0, rotations: 0 },
): Promise<PrivacyReport> {
  const readOnly = config.node.readOnly || config.privacy.profile === 'private';
  const storage = await stats
    .storageCounts()
    .catch(() => ({ peers: null, infohashes: null, items: undefined }));
  const tickS = config.stats.tickMs / 1000;
  const categories: PrivacyCategory[] = [
    {
      what: 'other nodes: id, IP address and UDP port (routing table)',
      held: dht.table.size + (dht.table6?.size ?? 0),
      retention: `until the node stops answering (2 failed queries) or is replaced; saved to the data dir every ${config.table.saveIntervalMs / 1000} s and on stop, for a fast restart`,
      why: 'Kademlia routing: every DHT node must know some others to answer and to look anything up',
      key: 'table.save_interval_s',
    },
    {
      what: 'peers announced by others: IP address and port per infohash (BEP 5 announce_peer)',
      held: readOnly ? 0 : storage.peers,
      retention: readOnly
        ? 'none: a read-only node is never announced to'
        : `${config.privacy.peerTtlS} s after the last announce, in ${config.storage.backend}`,
      why: 'the DHT exists to answer get_peers with them; a node near the infohash is expected to keep them',
      key: 'privacy.peer_ttl_s',
    },
    {
      what: 'BEP 44 items others put (values, public keys, signatures)',
      held: readOnly ? 0 : (storage.items ?? null),
      retention: readOnly ? 'none: a read-only node is never put to' : '2 hours after the last put (BEP 44)',
      why: 'BEP 44 storage: nodes near the target keep the item for readers',
    },
    {
      what: 'querier and responder addresses in statistics: only the /24 (IPv6: /48) prefix, counted per tick',
      held: null,
      retention: `${tickS} s per tick; the anomaly detector keeps a rolling baseline of counts per prefix, the replies per prefix of its last ${config.anomaly.replyWindowTicks ?? DEFAULT_ANOMALY_OPTIONS.replyWindowTicks} ticks, and flagged prefixes in its recent list`,
      why: `detecting one network that floods us or answers too many of our lookups (anomaly rules ${PREFIX_RULES.join(', ')}); full addresses are never kept`,
    },
    {
      what: 'our own recent lookups: their targets (infohashes), timings and counts',
      held: stats.recentLookups().length,
      retention:
        config.privacy.profile === 'private'
          ? 'none (private profile)'
          : `the last ${config.privacy.recentLookups}, in memory only`,
      why: 'the dashboard shows recent lookups; they reveal what this node looked up',
      key: 'privacy.recent_lookups',
    },
    {
      what: "our own lookups' targets (infohashes) with one number each: how close to it the lookup's k-th closest node was",
      held: null,
      retention: `the last ${config.anomaly.densityWindow ?? DEFAULT_ANOMALY_OPTIONS.densityWindow} distinct targets, in memory only (in every profile), and flagged targets in the detector's recent list`,
      why: "the target-density anomaly rule: a node's usual level is the median over its recent targets, and a target with ids placed around it (a targeted eclipse) stands out from it",
    },
    {
      what: 'BEP 51 infohash samples served to others',
      held: null,
      retention: readOnly
        ? 'none: a read-only node answers no queries'
        : 'drawn from the stored infohashes above',
      why: 'BEP 51 lets indexers discover infohashes; a node that stores announces serves samples of them',
    },
  ];
  return {
    profile: config.privacy.profile,
    readOnly,
    rotation: {
      ...rotation,
      hides:
        rotation.everyS > 0
          ? `every ${rotation.everyS} s the node takes a fresh random id and UDP port and rejoins: a node that saw our queries cannot link them by id or port to those after the next rotation, and our id no longer marks the region of the key space we sit in for long`
          : 'off: the node keeps one id and port while it runs (privacy.rotate_every_s)',
      doesNotHide:
        'our IP address: every node we query still sees it, so queries from one address stay linkable by address; ' +
        'the bootstrap routers and saved contacts see each rejoin; BEP 42 ties 21 bits of a secure id to the IP by design',
    },
    categories,
    bootstrap: config.node.bootstrap.map((router) => ({
      router,
      operator:
        ROUTER_OPERATORS[router] ??
        (DEFAULT_BOOTSTRAP.includes(router) ? 'unknown' : 'chosen by you (node.bootstrap)'),
    })),
  };
}
