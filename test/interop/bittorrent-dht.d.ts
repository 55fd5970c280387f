// Minimal types for the parts of bittorrent-dht@11 the interop harness uses (the package ships
// none). Byte strings it hands out are Buffers (its KRPC socket decodes with bencode@2).
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  export interface DHTNode {
    host: string;
    port: number;
    id?: Buffer;
  }

  export interface DHTOptions {
    nodeId?: Buffer | string;
    /** false: no bootstrap at all; an array of 'host:port' or { host, port }; omitted: PUBLIC routers. */
    bootstrap?: false | Array<string | { host: string; port: number }>;
    host?: string | false;
    concurrency?: number;
    timeout?: number;
    k?: number;
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
    maxAge?: number;
  }

  export interface GetResult {
    id: Buffer;
    v: unknown;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
    token?: Buffer;
  }

  export interface PutOptions {
    v: unknown;
    k?: Buffer;
    seq?: number;
    salt?: Buffer;
    cas?: number;
    sign?: (message: Buffer) => Buffer;
    sig?: Buffer;
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    readonly ready: boolean;
    readonly nodes: { toArray(): DHTNode[]; count(): number };
    listen(port?: number, address?: string, onlistening?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: DHTNode): void;
    removeNode(id: Buffer | string): void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null, n?: number) => void): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, n?: number) => void): () => void;
    put(opts: PutOptions, cb?: (err: Error | null, key: Buffer, n: number) => void): Buffer;
    get(
      key: Buffer | string,
      opts: { verify?: DHTOptions['verify']; salt?: Buffer; cache?: boolean },
      cb: (err: Error | null, res: GetResult | null) => void,
    ): void;
    destroy(cb?: () => void): void;
    toJSON(): { nodes: Array<{ host: string; port: number }>; values: Record<string, unknown> };
  }
}
