/**
 * Who is in an overlay node's routing table, and how they get there: a contact enters when it
 * answers us, or when it queried us and a fresh dial to the port it named proves its key; a full
 * bucket pings its stalest contact before a newcomer may replace it; a failure counts against a
 * contact; with a reputation, a contact that lied is never admitted. Skywire admitted queriers unchecked and evicted without asking.
 */
import { compareDistance, type NodeId } from '../kademlia/id.js';
import type { RoutingTable } from '../kademlia/routing-table.js';
import type { OverlayClient, OverlayContact } from '../protocols/overlay/client.js';
import { overlayIdOf } from '../protocols/overlay/identity.js';
import { addressKey, makeAddress } from '../transport/address.js';
import type { Connection, StreamTransport } from '../transport/stream/types.js';
import type { Clock } from '../util/clock.js';
import type { EventBus } from '../util/events.js';
import type { OverlayEvents } from './overlay-events.js';

/** Queriers we probe at once to admit them to the table; more wait for their next query. */
const MAX_ADMITTING = 32;

export interface MembershipParts {
  id: NodeId;
  k: number;
  table: RoutingTable;
  client: OverlayClient;
  transport: StreamTransport;
  clock: Clock;
  events: EventBus<OverlayEvents>;
  /** Aborts with the node: background pings and probes stop with it. */
  shutdown: AbortSignal;
  /** Full nodes hold every item, whatever the table says. */
  fullNode: () => boolean;
  /** False for a contact whose reputation says it lies: it is neither admitted nor kept. */
  trusted?: ((contact: OverlayContact) => boolean) | undefined;
}

export class OverlayMembership {
  private readonly admitting = new Set<string>();

  constructor(private readonly parts: MembershipParts) {}

  /** Ask a contact; an answer puts it in the table, a failure counts against it. */
  async ask<M extends 'ping' | 'find_node' | 'get_value'>(
    contact: OverlayContact,
    method: M,
    body: Parameters<OverlayClient['request']>[2],
    signal: AbortSignal,
  ) {
    try {
      const reply = await this.parts.client.request(contact, method, body as never, signal);
      this.observe(contact);
      return reply;
    } catch (err) {
      if (!signal.aborted) {
        const gone = this.parts.table.failed(contact.id);
        if (gone)
          this.parts.events.emit('overlay:evicted', { id: gone.removed.id, address: gone.removed.address });
      }
      throw err;
    }
  }

  async ping(contact: OverlayContact, signal: AbortSignal): Promise<void> {
    await this.ask(contact, 'ping', {}, signal);
  }

  /**
   * A peer queried us; admit it once a fresh dial to the port it named reaches it (a connection it
   * opened to us proves nothing: NATed peers can dial out but not be dialled).
   */
  heard(conn: Connection, port: number | undefined): void {
    const { table, clock, shutdown } = this.parts;
    if (port === undefined || shutdown.aborted) return;
    const address = makeAddress(conn.remoteAddress.host, port);
    const contact: OverlayContact = {
      id: overlayIdOf(conn.remotePublicKey),
      address,
      key: conn.remotePublicKey,
    };
    if (table.get(contact.id)) {
      // A known contact querying us over a channel that proved its key is alive: note it, as BEP 5
      // does for a node that sends us a query. It also keeps its bucket fresh, so a node with
      // traffic spends no refresh lookups on the buckets that traffic covers.
      table.observe(contact, false, clock.now());
      return;
    }
    const key = addressKey(address);
    if (this.parts.trusted?.(contact) === false) return;
    if (this.admitting.has(key) || this.admitting.size >= MAX_ADMITTING) return;
    this.admitting.add(key);
    void this.parts.transport
      .probe(address, contact.key, shutdown)
      .then((reachable) => {
        if (reachable && !shutdown.aborted) this.observe(contact);
      })
      .catch(() => undefined)
      .finally(() => this.admitting.delete(key));
  }

  /** Regular nodes hold items for targets they are among the k closest to, as far as they know. */
  responsible(target: Uint8Array): boolean {
    if (this.parts.fullNode()) return true;
    const { table, k, id } = this.parts;
    const closest = table.closest(target, k);
    if (closest.length < k) return true;
    const farthest = closest[closest.length - 1];
    return farthest === undefined || compareDistance(target, id, farthest.id) <= 0;
  }

  private observe(contact: OverlayContact): void {
    if (this.parts.trusted?.(contact) === false) return;
    const result = this.parts.table.observe(contact, true, this.parts.clock.now());
    if (result.action === 'added') {
      this.parts.events.emit('overlay:added', {
        id: contact.id,
        address: contact.address,
        bucket: result.bucket,
      });
    } else if (result.action === 'cached' && result.ping) {
      // A full bucket: ping its stalest contact; if that fails, the newcomer replaces it.
      const stale = result.ping as OverlayContact;
      void this.ping(stale, this.parts.shutdown).catch(() => undefined);
    }
  }
}
