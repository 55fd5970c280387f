/**
 * STUN transactions over any datagram sender (RFC 5389 §7.2.1): requests retransmitted on a
 * doubling timer, answers matched by transaction id alone (an RFC 5780 CHANGE-REQUEST answer
 * comes from another address), a bounded table of pending requests. Binding requests return the
 * mapped address and the server's other address; TURN (turn.ts) builds on `request`.
 */
import type { Address } from '../../transport/address.js';
import type { Clock, Timer } from '../../util/clock.js';
import { AbortError, KadmiumError, TimeoutError } from '../../util/errors.js';
import type { Random } from '../../util/random.js';
import {
  Attr,
  addressAttribute,
  decodeStun,
  encodeStun,
  type EncodeOptions,
  errorCode,
  Method,
  type StunAttribute,
  type StunMessage,
  TRANSACTION_ID_BYTES,
  u32,
} from './message.js';

/** First retransmit after this; each next one waits twice as long (RFC 5389 suggests 500 ms on the open internet). */
export const STUN_RTO_MS = 200;
/** A request nobody answered within this has failed. */
export const STUN_TIMEOUT_MS = 1_500;
/** Most requests waiting for an answer at once. */
export const MAX_PENDING_STUN = 64;

export class StunError extends KadmiumError {
  constructor(
    readonly stunCode: number,
    reason: string,
  ) {
    super('STUN_ERROR', `the STUN/TURN server refused: ${stunCode} ${reason}`);
  }
}

export interface StunReply {
  msg: StunMessage;
  raw: Uint8Array;
  from: Address;
  rttMs: number;
}

export interface BindingResult {
  /** Our address as the server saw it (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS). */
  mapped: Address;
  /** Where the answer came from (RESPONSE-ORIGIN, else the datagram's source). */
  origin: Address;
  /** RFC 5780 OTHER-ADDRESS: the server's second IP and port, when it has one. */
  other: Address | undefined;
  rttMs: number;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  encode?: EncodeOptions | undefined;
}

interface Pending {
  resolve(reply: StunReply): void;
  reject(err: Error): void;
  sentAt: number;
}

export class StunClient {
  private readonly pending = new Map<string, Pending>();
  /** Datagrams that were STUN but matched nothing pending (indications go to onIndication). */
  unmatched = 0;
  private indication: (msg: StunMessage, from: Address) => void = () => undefined;

  constructor(
    private readonly send: (data: Uint8Array, to: Address) => void,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /** Feed every STUN datagram the socket received. */
  receive(data: Uint8Array, from: Address): void {
    const msg = decodeStun(data);
    if (!msg) return;
    if (msg.cls === 'indication') {
      this.indication(msg, from);
      return;
    }
    const key = hex(msg.transactionId);
    const p = this.pending.get(key);
    if (!p) {
      this.unmatched++;
      return;
    }
    this.pending.delete(key);
    p.resolve({ msg, raw: data, from, rttMs: this.clock.now() - p.sentAt });
  }

  /** TURN Data indications and anything else the server pushes. */
  onIndication(handler: (msg: StunMessage, from: Address) => void): void {
    this.indication = handler;
  }

  /** Send an indication (no answer expected). */
  indicate(to: Address, method: number, attributes: (transactionId: Uint8Array) => StunAttribute[]): void {
    const transactionId = this.random.bytes(TRANSACTION_ID_BYTES);
    this.send(
      encodeStun({ method, cls: 'indication', transactionId, attributes: attributes(transactionId) }),
      to,
    );
  }

  /** One request; resolves with a success answer, rejects with StunError on an error answer. */
  request(
    to: Address,
    method: number,
    attributes: (transactionId: Uint8Array) => StunAttribute[],
    opts: RequestOptions = {},
  ): Promise<StunReply> {
    if (this.pending.size >= MAX_PENDING_STUN)
      return Promise.reject(
        new KadmiumError(
          'STUN_BUSY',
          `${MAX_PENDING_STUN} STUN requests are already waiting; wait for them first`,
        ),
      );
    const transactionId = this.random.bytes(TRANSACTION_ID_BYTES);
    const key = hex(transactionId);
    const packet = encodeStun(
      { method, cls: 'request', transactionId, attributes: attributes(transactionId) },
      opts.encode,
    );
    const timeoutMs = opts.timeoutMs ?? STUN_TIMEOUT_MS;
    return new Promise<StunReply>((resolve, reject) => {
      let timer: Timer | undefined;
      let rto = STUN_RTO_MS;
      const started = this.clock.now();
      const done = () => {
        timer?.cancel();
        this.pending.delete(key);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new AbortError());
      };
      const transmit = () => {
        const elapsed = this.clock.now() - started;
        if (elapsed >= timeoutMs) {
          done();
          reject(new TimeoutError(`no STUN answer from ${to.host}:${to.port} within ${timeoutMs} ms`));
          return;
        }
        this.send(packet, to);
        timer = this.clock.setTimeout(transmit, Math.min(rto, timeoutMs - elapsed));
        rto *= 2;
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(key, {
        sentAt: started,
        resolve: (reply) => {
          done();
          if (reply.msg.cls === 'error') {
            const e = errorCode(reply.msg) ?? { code: 0, reason: 'no ERROR-CODE' };
            const err = new StunError(e.code, e.reason);
            (err as StunError & { reply: StunReply }).reply = reply;
            reject(err);
          } else resolve(reply);
        },
        reject,
      });
      transmit();
    });
  }

  /** A Binding request; `change` asks an RFC 5780 server to answer from its other IP and/or port. */
  async binding(
    to: Address,
    opts: RequestOptions & { change?: { ip: boolean; port: boolean } | undefined } = {},
  ): Promise<BindingResult> {
    const change = opts.change;
    const reply = await this.request(
      to,
      Method.Binding,
      () =>
        change ? [{ type: Attr.ChangeRequest, value: u32((change.ip ? 4 : 0) | (change.port ? 2 : 0)) }] : [],
      opts,
    );
    const mapped =
      addressAttribute(reply.msg, Attr.XorMappedAddress) ?? addressAttribute(reply.msg, Attr.MappedAddress);
    if (!mapped)
      throw new KadmiumError('STUN_BAD_REPLY', `${to.host}:${to.port} answered without a mapped address`);
    return {
      mapped,
      origin: addressAttribute(reply.msg, Attr.ResponseOrigin) ?? reply.from,
      other: addressAttribute(reply.msg, Attr.OtherAddress),
      rttMs: reply.rttMs,
    };
  }

  /** Reject everything pending (the node is closing). */
  close(): void {
    for (const p of this.pending.values()) p.reject(new AbortError('the STUN client closed'));
    this.pending.clear();
  }
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
