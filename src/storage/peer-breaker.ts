/**
 * A peer backend behind a circuit breaker (breaker-core.ts), the peer-store twin of breaker.ts: a
 * Redis outage must not fail announces or empty get_peers answers, nor block the node. An announce
 * is a fact about one address with no version to compare, so the resync writes the mirror's
 * record back as it is (the later expiry is the newer announce anyway).
 */
import type { Address } from '../transport/address.js';
import { addressKey } from '../transport/address.js';
import type { Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { type BreakerChange, type BreakerState, StorageBreaker } from './breaker-core.js';
import { MemoryPeerBackend, type PeerBackend, type PeerRecord } from './peer-store.js';

type MaybePromise<T> = T | Promise<T>;

interface PeerRef {
  infohash: Uint8Array;
  address: Address;
}

/** A probe infohash nobody announces. */
const PROBE_INFOHASH = new Uint8Array(20);

export class BreakerPeerBackend implements PeerBackend {
  private readonly mirror = new MemoryPeerBackend();
  private readonly breaker: StorageBreaker<PeerRef, PeerRecord>;

  constructor(
    private readonly primary: PeerBackend,
    private readonly clock: Clock,
    onChange: (change: BreakerChange) => void = () => {},
  ) {
    this.breaker = new StorageBreaker<PeerRef, PeerRecord>(
      {
        backendName: 'peer storage backend',
        recordName: 'peer',
        ping: () => primary.countFor(PROBE_INFOHASH),
        live: async () => {
          const now = this.clock.now();
          return (await this.mirror.list(Number.MAX_SAFE_INTEGER)).filter((r) => r.expiresAt > now);
        },
        fromMirror: (ref) => this.mirror.loadOne(ref.infohash, ref.address),
        writeBack: async (record) => {
          await primary.store(record);
          return true;
        },
        deleteBack: (ref) => primary.delete(ref.infohash, ref.address),
      },
      clock,
      onChange,
    );
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  /** Deletes dropped because too many were pending while the backend was down. */
  get droppedDeletes(): number {
    return this.breaker.droppedDeletes;
  }

  async store(record: PeerRecord): Promise<boolean> {
    const fresh = await this.mirror.store(record);
    const r = await this.breaker.attempt(() => this.primary.store(record));
    if (r.ok) return r.value;
    const { infohash, address } = record;
    this.breaker.written(key(infohash, address), { infohash, address });
    return fresh;
  }

  async loadOne(infohash: Uint8Array, address: Address): Promise<PeerRecord | undefined> {
    return this.read(
      () => this.primary.loadOne(infohash, address),
      () => this.mirror.loadOne(infohash, address),
    );
  }

  load(infohash: Uint8Array): MaybePromise<PeerRecord[]> {
    // While open, answer without a promise: get_peers stays as cheap as with the memory backend.
    if (this.breaker.state !== 'closed') return this.mirror.load(infohash);
    return this.read(
      async () => this.primary.load(infohash),
      () => this.mirror.load(infohash),
    );
  }

  list(limit: number, infohash?: Uint8Array): Promise<PeerRecord[]> {
    return this.read(
      () => this.primary.list(limit, infohash),
      () => this.mirror.list(limit, infohash),
    );
  }

  async expire(until: number, max?: number): Promise<number> {
    const local = await this.mirror.expire(until, max);
    const r = await this.breaker.attempt(() => this.primary.expire(until, max));
    return r.ok ? r.value : local;
  }

  async delete(infohash: Uint8Array, address: Address): Promise<boolean> {
    const local = await this.mirror.delete(infohash, address);
    const r = await this.breaker.attempt(() => this.primary.delete(infohash, address));
    if (r.ok) return r.value;
    this.breaker.deleted(key(infohash, address), { infohash, address });
    return local;
  }

  countFor(infohash: Uint8Array): Promise<number> {
    return this.read(
      () => this.primary.countFor(infohash),
      () => this.mirror.countFor(infohash),
    );
  }

  counts(): Promise<{ infohashes: number; peers: number }> {
    return this.read(
      () => this.primary.counts(),
      () => this.mirror.counts(),
    );
  }

  infohashes(max: number): Promise<Uint8Array[]> {
    return this.read(
      () => this.primary.infohashes(max),
      () => this.mirror.infohashes(max),
    );
  }

  async close(): Promise<void> {
    this.breaker.close();
    await Promise.all([this.primary.close().catch(() => undefined), this.mirror.close()]);
  }

  /** The backend's answer while the breaker is closed and the backend answers, else the mirror's. */
  private async read<T>(primary: () => Promise<T>, mirror: () => MaybePromise<T>): Promise<T> {
    const r = await this.breaker.attempt(primary);
    return r.ok ? r.value : mirror();
  }
}

function key(infohash: Uint8Array, address: Address): string {
  return `${toHex(infohash)}/${addressKey(address)}`;
}
