/**
 * Small named blobs a node keeps across restarts (its routing table, its id). Bytes in, bytes out:
 * the node owns the format.
 */
export interface StateStore {
  saveState(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes last saved under `key`, or undefined. */
  loadState(key: string): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

export class MemoryStateStore implements StateStore {
  private readonly values = new Map<string, Uint8Array>();

  async saveState(key: string, bytes: Uint8Array): Promise<void> {
    this.values.set(key, new Uint8Array(bytes));
  }

  async loadState(key: string): Promise<Uint8Array | undefined> {
    const bytes = this.values.get(key);
    return bytes ? new Uint8Array(bytes) : undefined;
  }

  async close(): Promise<void> {}
}
