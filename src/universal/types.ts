/**
 * The universal client's vocabulary: the networks, what each can do, and the results every
 * adapter yields, tagged with the network that answered.
 */

export const NETWORKS = ['mainline', 'overlay', 'ipfs', 'ethereum', 'hyperswarm'] as const;
export type NetworkName = (typeof NETWORKS)[number];

export interface Capabilities {
  /** Peers (providers) for a key. */
  findPeers: boolean;
  /** Make this node findable for a key. */
  announce: boolean;
  /** A node by its id in the network's own id space. */
  findNode: boolean;
  getRecord: boolean;
  putRecord: boolean;
  /** Bytes in that network's node id (findNode answers only ids of this length). */
  nodeIdBytes: number;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Per network; default UNIVERSAL_CALL_TIMEOUT_MS. */
  timeoutMs?: number | undefined;
}

/** How a record's signature is checked; each names the origin network's own rule. */
export type SignatureScheme =
  /** BEP 44: ed25519 over "4:salt..3:seqi..e1:v..". */
  | 'bep44-ed25519'
  /** The overlay: secp256k1 r||s||recid over SHA-256 of the payload. */
  | 'overlay-secp256k1'
  /** hyperdht mutable records: ed25519 over NS_MUTABLE_PUT || blake2b(seq, value). */
  | 'hyperdht-ed25519'
  /** kadmium's /kadmium/ namespace on a libp2p kad-dht: ed25519 (see ipfs-record.ts). */
  | 'kadmium-ipfs-ed25519'
  /** EIP-778 Ethereum Node Records, identity scheme v4 (the whole ENR is the signed record). */
  | 'enr-v4';

/** A signed record as its origin network holds it: enough to check the signature again anywhere. */
export interface SignedRecord {
  network: NetworkName;
  scheme: SignatureScheme;
  publicKey: Uint8Array;
  salt: Uint8Array;
  seq: bigint;
  value: Uint8Array;
  signature: Uint8Array;
}

/** Where a record lives: its publisher's key and a salt (empty for none). */
export interface RecordRef {
  publicKey: Uint8Array;
  salt?: Uint8Array | undefined;
}

export interface PeerResult {
  kind: 'peer';
  network: NetworkName;
  /** The key as that network knows it (infohash, CID bytes, topic). */
  key: Uint8Array;
  /** Network-specific peer id when there is one (libp2p peer id, hyperdht public key). */
  id?: Uint8Array | undefined;
  /** host:port or multiaddr text. */
  addresses: string[];
}

export interface NodeResult {
  kind: 'node';
  network: NetworkName;
  id: Uint8Array;
  addresses: string[];
}

export interface RecordResult {
  kind: 'record';
  network: NetworkName;
  record: SignedRecord;
}

export interface AnnounceOutcome {
  network: NetworkName;
  ok: boolean;
  /** Nodes that took the announcement, when the library tells. */
  storedOn?: number | undefined;
  error?: Error | undefined;
}

export interface PutOutcome {
  network: NetworkName;
  ok: boolean;
  record?: SignedRecord | undefined;
  error?: Error | undefined;
}

/** One network behind the universal interface. An adapter owns what it started and closes it. */
export interface NetworkAdapter {
  readonly network: NetworkName;
  readonly capabilities: Capabilities;
  /** infohash is the universal key; the adapter maps it (keys.ts). */
  findPeers(infohash: Uint8Array, signal: AbortSignal): AsyncIterable<PeerResult>;
  announce(infohash: Uint8Array, signal: AbortSignal): Promise<AnnounceOutcome>;
  findNode(id: Uint8Array, signal: AbortSignal): AsyncIterable<NodeResult>;
  getRecord(ref: RecordRef, signal: AbortSignal): Promise<SignedRecord | undefined>;
  putRecord(value: Uint8Array, salt: Uint8Array, signal: AbortSignal): Promise<SignedRecord>;
  close(): Promise<void>;
}
