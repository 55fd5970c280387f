/**
 * Mirroring accepted discovery writes into the overlay without a lookup per write.
 *
 * Skywire mirrored through full Kademlia puts and spent 84 % of a CPU on it (spec §8). Here a
 * write only updates a pending map (the latest value per target wins, so a burst of updates to one
 * key costs one item). Every `flushMs` the pending values are signed with the server's key, stored
 * in the server's own full node under the subject's target (a mirror put), and pushed with
 * PutBatch to the configured full nodes and to the few contacts of the server's routing table
 * closest to each target, grouped into one batch per peer. Nodes accept these mirrors only when
 * they trust the server's key (`OverlayStore` trust tiers); readers check the records inside,
 * which their subjects signed.
 */
import type { OverlayBootstrap, OverlayNode } from '../node/overlay-node.js';
import {
  encodeDmsgValue,
  encodeSvcValue,
  encodeTpChunks,
  tpSalt,
} from '../protocols/discovery/dht-values.js';
import type { OverlayIdentity } from '../protocols/overlay/identity.js';
import { itemTarget, type MutableItem, signItem } from '../protocols/overlay/item.js';
import { MAX_BATCH_ITEMS } from '../protocols/overlay/messages.js';
import { bytesToBinaryString, toHex } from '../util/bytes.js';
import { type Clock, every, type Timer } from '../util/clock.js';
import { EventBus } from '../util/events.js';
import type { WriteEvent } from './state.js';

/** How often pending writes are signed and pushed. */
export const MIRROR_FLUSH_MS = 250;
/** Targets waiting at most; past it the oldest pending value is dropped (and counted). */
export const MIRROR_MAX_PENDING = 100_000;
/** Routing-table contacts closest to a target that also get its mirror. */
export const MIRROR_REPLICAS = 8;
/** Items per PutBatch request. */
const BATCH_ITEMS = Math.min(1_000, MAX_BATCH_ITEMS);
/** Peers pushed to at once. */
const PUSH_CONCURRENCY = 16;

export interface MirrorOptions {
  node: OverlayNode;
  identity: OverlayIdentity;
  clock: Clock;
  /** Full nodes that get every mirrored item. */
  fullNodes?: OverlayBootstrap[];
  replicas?: number;
  flushMs?: number;
}

export interface MirrorStats {
  /** Writes reported by the server. */
  writes: number;
  /** Items signed and stored in the server's own full node. */
  mirrored: number;
  /** Items a peer stored / refused / could not be sent. */
  pushed: number;
  refused: number;
  pushFailures: number;
  /** Pending values replaced by a newer one before a flush (coalesced), or dropped at the cap. */
  coalesced: number;
  dropped: number;
  pending: number;
}

export interface MirrorEvents {
  'mirror:flushed': { items: number; peers: number; ms: number };
  'mirror:push-failed': { peer: string; message: string };
}

interface Pending {
  subject: Uint8Array;
  salt: string;
  value: Uint8Array;
}

export class Mirror {
  readonly events = new EventBus<MirrorEvents>();
  private pending = new Map<string, Pending>();
  private readonly counters = {
    writes: 0,
    mirrored: 0,
    pushed: 0,
    refused: 0,
    pushFailures: 0,
    coalesced: 0,
    dropped: 0,
  };
  private timer: Timer | undefined;
  private flushing: Promise<void> | undefined;
  private lastSeq = 0n;
  private closed = false;

  constructor(private readonly options: MirrorOptions) {
    this.timer = every(options.clock, options.flushMs ?? MIRROR_FLUSH_MS, () => void this.flush());
  }

  /** Queue what a write changed (called synchronously by DiscoveryState). */
  record(event: WriteEvent): void {
    if (this.closed) return;
    this.counters.writes++;
    switch (event.kind) {
      case 'dmsg':
        // A deleted entry becomes an empty value: a tombstone over the earlier mirror.
        this.add(event.subject, 'dmsg', event.entry ? encodeDmsgValue(event.entry) : new Uint8Array(0));
        return;
      case 'tp':
        encodeTpChunks(event.subject, event.transports).forEach((chunk, i) =>
          this.add(event.subject, tpSalt(i), chunk),
        );
        return;
      case 'svc':
        this.add(event.subject, 'svc', encodeSvcValue(event.services));
    }
  }

  private add(subject: Uint8Array, salt: string, value: Uint8Array): void {
    const key = `${toHex(subject)}|${salt}`;
    if (this.pending.delete(key)) this.counters.coalesced++;
    else if (this.pending.size >= MIRROR_MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.counters.dropped++;
    }
    this.pending.set(key, { subject, salt, value });
  }

  stats(): MirrorStats {
    return { ...this.counters, pending: this.pending.size };
  }

  /** Sign, store and push everything pending; resolves when done (one flush at a time). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0 || this.closed) return;
    this.flushing = this.flushNow().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private nextSeq(): bigint {
    // One counter for all targets: UnixNano-sized, never repeating, ahead of the clock if need be.
    const now = BigInt(Math.round(this.options.clock.now())) * 1_000_000n;
    this.lastSeq = now > this.lastSeq ? now : this.lastSeq + 1n;
    return this.lastSeq;
  }

  private async flushNow(): Promise<void> {
    const started = this.options.clock.now();
    const batch = this.pending;
    this.pending = new Map();
    const { node, identity } = this.options;
    const byPeer = new Map<string, { peer: OverlayBootstrap; items: MutableItem[]; targets: Uint8Array[] }>();
    const addFor = (peer: OverlayBootstrap, item: MutableItem, target: Uint8Array): void => {
      const key = bytesToBinaryString(peer.publicKey);
      let group = byPeer.get(key);
      if (!group) byPeer.set(key, (group = { peer, items: [], targets: [] }));
      group.items.push(item);
      group.targets.push(target);
    };
    const enc = new TextEncoder();
    for (const p of batch.values()) {
      const salt = enc.encode(p.salt);
      const target = itemTarget(p.subject, salt);
      const item = signItem(identity, p.value, this.nextSeq(), salt);
      const local = await node.store.put(item, this.options.clock.now(), { mirrorTarget: target });
      if (local.ok) this.counters.mirrored++;
      for (const peer of this.options.fullNodes ?? []) addFor(peer, item, target);
      for (const contact of node.table.closest(target, this.options.replicas ?? MIRROR_REPLICAS)) {
        if (contact.key) addFor({ publicKey: contact.key, address: contact.address }, item, target);
      }
    }
    const groups = [...byPeer.values()];
    for (let i = 0; i < groups.length; i += PUSH_CONCURRENCY) {
      await Promise.all(groups.slice(i, i + PUSH_CONCURRENCY).map((g) => this.push(g)));
    }
    this.events.emit('mirror:flushed', {
      items: batch.size,
      peers: groups.length,
      ms: this.options.clock.now() - started,
    });
  }

  private async push(group: {
    peer: OverlayBootstrap;
    items: MutableItem[];
    targets: Uint8Array[];
  }): Promise<void> {
    for (let i = 0; i < group.items.length; i += BATCH_ITEMS) {
      if (this.closed) return;
      try {
        const stored = await this.options.node.putBatchTo(
          group.peer,
          group.items.slice(i, i + BATCH_ITEMS),
          group.targets.slice(i, i + BATCH_ITEMS),
        );
        for (const ok of stored) ok ? this.counters.pushed++ : this.counters.refused++;
      } catch (err) {
        this.counters.pushFailures += Math.min(BATCH_ITEMS, group.items.length - i);
        this.events.emit('mirror:push-failed', {
          peer: `${toHex(group.peer.publicKey).slice(0, 16)}@${group.peer.address.host}:${group.peer.address.port}`,
          message: (err as Error).message,
        });
      }
    }
  }

  async close(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.flush().catch(() => undefined);
    this.closed = true;
  }
}
