/**
 * The overlay's outbound side: send one typed request to a contact over a pooled connection and
 * get its typed, checked reply. Contacts a reply names are kept only when their id is the SHA-256
 * of their key (Skywire's anti-poisoning rule), their id meets the static puzzle, and they say
 * where they listen.
 */
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import type { Contact } from '../../kademlia/routing-table.js';
import { type StreamRpc } from '../../rpc/stream-rpc.js';
import { makeAddress, parseHostPort } from '../../transport/address.js';
import type { StreamTransport } from '../../transport/stream/types.js';
import { bytesEqual } from '../../util/bytes.js';
import type { Clock } from '../../util/clock.js';
import { KadmiumError } from '../../util/errors.js';
import { isIP } from 'node:net';
import { overlayIdOf } from './identity.js';
import {
  decodeResponse,
  encodeRequest,
  OverlayTag,
  type OverlayPeer,
  type OverlayRequest,
  type OverlayResponse,
} from './messages.js';
import { checkStatic } from './puzzle.js';

/** A contact as the overlay knows it: always with its key. */
export type OverlayContact = Contact & { readonly key: Uint8Array };

export type RequestBody<M extends OverlayRequest['method']> = Omit<
  Extract<OverlayRequest, { method: M }>,
  'method' | 'senderId' | 'senderPk' | 'senderPort'
>;
export type ResponseOf<M extends OverlayRequest['method']> = Extract<OverlayResponse, { method: M }>;

export interface OverlayClientOptions {
  rpc: StreamRpc;
  transport: StreamTransport;
  id: NodeId;
  publicKey: Uint8Array;
  /** The port we accept connections on, sent with every request. */
  port: number | undefined;
  /** Static puzzle bits a referred contact's id must meet. */
  staticBits: number;
  /** Told each request's round trip on its connection (the dial excluded), with `clock`. */
  onRtt?: (contact: OverlayContact, rttMs: number) => void;
  clock?: Clock;
}

export class OverlayClient {
  constructor(private readonly options: OverlayClientOptions) {}

  async request<M extends OverlayRequest['method']>(
    contact: OverlayContact,
    method: M,
    body: RequestBody<M>,
    signal?: AbortSignal,
    timeoutMs?: number,
  ): Promise<ResponseOf<M>> {
    const { rpc, transport, id, publicKey, port } = this.options;
    const conn = await transport.connect(contact.address, contact.key, signal);
    const request = {
      method,
      senderId: id,
      senderPk: publicKey,
      ...(port !== undefined ? { senderPort: port } : {}),
      ...body,
    } as OverlayRequest;
    const tag = OverlayTag[method];
    const { onRtt, clock } = this.options;
    const sent = clock?.now() ?? 0;
    const json = await rpc.request(conn, tag, encodeRequest(request), { signal, timeoutMs });
    if (onRtt && clock) onRtt(contact, clock.now() - sent);
    const decoded = decodeResponse(tag, json);
    if (!decoded.ok) throw new KadmiumError('BAD_REPLY', `${method} reply: ${decoded.error.message}`);
    if (decoded.message.method !== method) {
      throw new KadmiumError('BAD_REPLY', `${method} reply: got a ${decoded.message.method} body`);
    }
    return decoded.message as ResponseOf<M>;
  }

  /** The contacts in a reply that pass the id, puzzle and address checks. */
  contactsOf(peers: readonly OverlayPeer[]): OverlayContact[] {
    const out: OverlayContact[] = [];
    for (const peer of peers) {
      const contact = contactOf(peer, this.options.staticBits);
      if (contact && !bytesEqual(contact.id, this.options.id)) out.push(contact);
    }
    return out;
  }
}

/** A referred peer as a contact, or undefined when it fails a check. */
export function contactOf(peer: OverlayPeer, staticBits: number): OverlayContact | undefined {
  if (!peer.addr) return undefined;
  const id = overlayIdOf(peer.pk);
  if (!bytesEqual(id, peer.id) || !checkStatic(id, staticBits)) return undefined;
  const parsed = parseHostPort(peer.addr);
  if ('error' in parsed || isIP(parsed.host) === 0) return undefined;
  return { id: asNodeId(id), address: makeAddress(parsed.host, parsed.port), key: peer.pk.slice() };
}
