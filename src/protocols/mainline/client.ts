/**
 * Outbound Mainline queries with checked replies: each call validates the responder's id and
 * decodes nodes/values, so the node layer only ever sees typed, well-formed results.
 */
import { asNodeId, type NodeId } from '../../kademlia/id.js';
import type { Contact } from '../../kademlia/routing-table.js';
import type { QueryOptions, QueryReply, Rpc } from '../../rpc/rpc.js';
import type { Address } from '../../transport/address.js';
import { KadmiumError } from '../../util/errors.js';
import type { BDict, BValue } from '../../wire/bencode.js';
import { decodeCompactAddress, decodeNodes } from '../../wire/compact.js';
import { ID_LENGTH } from './messages.js';

export interface ReplyBase {
  id: NodeId;
  from: Address;
  /** BEP 42: our address as the responder saw it. */
  ip?: Address | undefined;
  rttMs: number;
}

export interface NodesReply extends ReplyBase {
  nodes: Contact[];
}

export interface PeersReply extends NodesReply {
  token?: Uint8Array | undefined;
  values: Address[];
}

/** A BEP 44 get reply: token and nodes always; the item fields when the node holds one. */
export interface ItemReply extends NodesReply {
  token?: Uint8Array | undefined;
  /** The value as a decoded bencode value (re-encode it for hashes and signatures). */
  v?: BValue | undefined;
  k?: Uint8Array | undefined;
  sig?: Uint8Array | undefined;
  seq?: number | undefined;
}

export interface PutArgs {
  token: Uint8Array;
  v: BValue;
  k?: Uint8Array | undefined;
  sig?: Uint8Array | undefined;
  salt?: Uint8Array | undefined;
  seq?: number | undefined;
  cas?: number | undefined;
}

export interface ClientHooks {
  /** A node answered: the routing table may want it. */
  replied(contact: Contact, reply: ReplyBase): void;
  /** A query failed (timeout or error reply); `id` when the node was known. */
  failed(to: Address, err: unknown): void;
}

export class BadReplyError extends KadmiumError {
  constructor(message: string) {
    super('BAD_REPLY', message);
  }
}

export class MainlineClient {
  constructor(
    private readonly rpc: Rpc,
    private readonly localId: () => NodeId,
    private readonly hooks: ClientHooks,
    private readonly families: { n4: boolean; n6: boolean } = { n4: true, n6: false },
  ) {}

  async ping(to: Address, opts?: QueryOptions): Promise<ReplyBase> {
    return this.call(to, 'ping', { id: this.localId() }, opts, (base) => base);
  }

  async findNode(to: Address, target: Uint8Array, opts?: QueryOptions): Promise<NodesReply> {
    return this.call(to, 'find_node', { id: this.localId(), target, want: this.want() }, opts, (base, r) => ({
      ...base,
      nodes: this.nodes(r),
    }));
  }

  async getPeers(to: Address, infoHash: Uint8Array, opts?: QueryOptions): Promise<PeersReply> {
    return this.call(
      to,
      'get_peers',
      { id: this.localId(), info_hash: infoHash, want: this.want() },
      opts,
      (base, r) => {
        const values: Address[] = [];
        if (Array.isArray(r.values)) {
          for (const v of r.values) {
            if (!(v instanceof Uint8Array)) continue;
            const peer = decodeCompactAddress(v);
            if (peer && peer.port !== 0) values.push(peer);
          }
        }
        return {
          ...base,
          nodes: this.nodes(r),
          values,
          token: r.token instanceof Uint8Array ? r.token.slice() : undefined,
        };
      },
    );
  }

  async announcePeer(
    to: Address,
    args: { infoHash: Uint8Array; port?: number | undefined; token: Uint8Array; seed?: boolean },
    opts?: QueryOptions,
  ): Promise<ReplyBase> {
    const a: BDict = {
      id: this.localId(),
      implied_port: args.port === undefined ? 1 : 0,
      info_hash: args.infoHash,
      port: args.port ?? this.rpc.address.port,
      seed: args.seed ? 1 : undefined,
      token: args.token,
    };
    return this.call(to, 'announce_peer', a, opts, (base) => base);
  }

  /** BEP 44 get: with `seq`, the node leaves out v unless it holds a newer one. */
  async get(to: Address, target: Uint8Array, seq?: number, opts?: QueryOptions): Promise<ItemReply> {
    return this.call(to, 'get', { id: this.localId(), seq, target }, opts, (base, r) => {
      const bytes = (key: string): Uint8Array | undefined => {
        const value = r[key];
        return value instanceof Uint8Array ? value.slice() : undefined;
      };
      return {
        ...base,
        nodes: this.nodes(r),
        token: bytes('token'),
        v: r.v,
        k: bytes('k'),
        sig: bytes('sig'),
        seq: typeof r.seq === 'number' ? r.seq : undefined,
      };
    });
  }

  /** BEP 44 put, with the token the node gave us in its get reply. */
  async put(to: Address, args: PutArgs, opts?: QueryOptions): Promise<ReplyBase> {
    const a: BDict = {
      cas: args.cas,
      id: this.localId(),
      k: args.k,
      salt: args.salt && args.salt.length > 0 ? args.salt : undefined,
      seq: args.seq,
      sig: args.sig,
      token: args.token,
      v: args.v,
    };
    return this.call(to, 'put', a, opts, (base) => base);
  }

  private want(): Uint8Array[] | undefined {
    const { n4, n6 } = this.families;
    if (n4 && !n6) return undefined;
    const out: Uint8Array[] = [];
    if (n4) out.push(new Uint8Array([0x6e, 0x34]));
    if (n6) out.push(new Uint8Array([0x6e, 0x36]));
    return out;
  }

  private nodes(r: BDict): Contact[] {
    const out: Contact[] = [];
    if (r.nodes instanceof Uint8Array) {
      for (const n of decodeNodes(r.nodes, ID_LENGTH, 4) ?? [])
        out.push({ id: asNodeId(n.id), address: n.address });
    }
    if (this.families.n6 && r.nodes6 instanceof Uint8Array) {
      for (const n of decodeNodes(r.nodes6, ID_LENGTH, 6) ?? [])
        out.push({ id: asNodeId(n.id), address: n.address });
    }
    return out;
  }

  private async call<T>(
    to: Address,
    method: string,
    args: BDict,
    opts: QueryOptions | undefined,
    shape: (base: ReplyBase, r: BDict) => T,
  ): Promise<T> {
    let reply: QueryReply;
    try {
      reply = await this.rpc.query(to, method, args, opts);
    } catch (err) {
      this.hooks.failed(to, err);
      throw err;
    }
    const { r } = reply;
    if (!(r.id instanceof Uint8Array) || r.id.length !== ID_LENGTH) {
      const err = new BadReplyError(`${method} reply from ${to.host}:${to.port} has no valid 20-byte id`);
      this.hooks.failed(to, err);
      throw err;
    }
    const base: ReplyBase = {
      id: asNodeId(r.id.slice()),
      from: reply.from,
      ip: reply.ip ? decodeCompactAddress(reply.ip) : undefined,
      rttMs: reply.rttMs,
    };
    this.hooks.replied({ id: base.id, address: reply.from }, base);
    return shape(base, r);
  }
}
