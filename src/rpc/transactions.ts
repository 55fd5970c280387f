/**
 * Outstanding queries, keyed by compact 2-byte transaction ids. A reply is matched only when its id
 * is outstanding *and* it came from the address the query went to; anything else is unsolicited.
 */
import { type Address, sameAddress } from '../transport/address.js';

export interface Transaction<T> {
  readonly id: number;
  readonly tid: Uint8Array;
  readonly to: Address;
  readonly data: T;
}

export class TransactionTable<T> {
  private readonly open = new Map<number, Transaction<T>>();
  private next: number;

  constructor(
    start: number,
    /** Most transactions open at once; 65,536 is the id space. */
    readonly capacity = 16_384,
  ) {
    this.next = start & 0xffff;
  }

  get size(): number {
    return this.open.size;
  }

  /** Open a transaction, or undefined when the table is full. */
  add(to: Address, data: T): Transaction<T> | undefined {
    if (this.open.size >= this.capacity) return undefined;
    let id = this.next;
    while (this.open.has(id)) id = (id + 1) & 0xffff;
    this.next = (id + 1) & 0xffff;
    const tx: Transaction<T> = { id, tid: new Uint8Array([id >> 8, id & 0xff]), to, data };
    this.open.set(id, tx);
    return tx;
  }

  /** The open transaction a reply belongs to, checking the sender; does not remove it. */
  match(tid: Uint8Array, from: Address): Transaction<T> | undefined {
    if (tid.length !== 2) return undefined;
    const tx = this.open.get(((tid[0] as number) << 8) | (tid[1] as number));
    return tx && sameAddress(tx.to, from) ? tx : undefined;
  }

  delete(tx: Transaction<T>): boolean {
    return this.open.get(tx.id) === tx && this.open.delete(tx.id);
  }

  values(): IterableIterator<Transaction<T>> {
    return this.open.values();
  }
}
