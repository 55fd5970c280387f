/** Defaults a node starts with, each named with its unit. */

/** The well-known public Mainline routers. */
export const DEFAULT_BOOTSTRAP: readonly string[] = [
  'router.bittorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'router.utorrent.com:6881',
  'dht.libtorrent.org:25401',
  'dht.aelitis.com:6881',
];

export const DEFAULT_PORT = 6881;
export const DEFAULT_ALPHA = 3;
/** A lookup that has not converged by then is cut short. */
export const LOOKUP_TIMEOUT_MS = 60_000;
/** Maintenance: expiry, bucket refresh, re-bootstrap when empty. */
export const MAINTENANCE_INTERVAL_MS = 60_000;
/** Bootstrap retries back off from 1 s to 5 min. */
export const BOOTSTRAP_RETRY_MIN_MS = 1_000;
export const BOOTSTRAP_RETRY_MAX_MS = 5 * 60_000;
/** Refresh lookups running at once. */
export const MAX_CONCURRENT_REFRESH = 2;
/** Client version we send (`v`): "KD" and a version. */
export const CLIENT_VERSION = new Uint8Array([0x4b, 0x44, 0x00, 0x01]);
/** Sparse buckets refreshed right after joining, farthest first (bucket 0 is half the id space). */
export const POST_JOIN_REFRESH_BUCKETS = 3;
/** NAT discovery: one STUN round trip plus the filtering probes' silence, with room for loss. */
export const NAT_DISCOVERY_TIMEOUT_MS = 5_000;
