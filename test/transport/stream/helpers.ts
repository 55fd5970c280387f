/** Shared pieces for the channel tests: a handshake over a memory pair and a frame-level relay. */
import type { Duplex } from 'node:stream';
import { memoryDuplexPair } from '../../../src/transport/stream/duplex-pair.js';
import { FrameReader, encodeFrame } from '../../../src/transport/stream/framing.js';
import {
  type ChannelOptions,
  secureInitiator,
  secureResponder,
} from '../../../src/transport/stream/channel.js';
import type { SecureConnection } from '../../../src/transport/stream/connection.js';
import type { ChannelIdentity } from '../../../src/transport/stream/types.js';
import { verifyDigest } from './fixture.js';

export interface Settled {
  initiator: SecureConnection | Error;
  responder: SecureConnection | Error;
}

export function settle(p: Promise<SecureConnection>): Promise<SecureConnection | Error> {
  return p.then(
    (c) => c,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

export interface PairOptions {
  initiatorOptions?: Partial<ChannelOptions> & { expectedPublicKey?: Uint8Array };
  responderOptions?: Partial<ChannelOptions>;
  /** Wire the two sides through this instead of directly. */
  wire?: (initiatorEnd: Duplex, responderEnd: Duplex) => void;
}

/** Run a handshake between two identities over in-memory streams. */
export async function handshakePair(
  i: ChannelIdentity,
  r: ChannelIdentity,
  options: PairOptions = {},
): Promise<Settled> {
  let initiatorSide: Duplex;
  let responderSide: Duplex;
  if (options.wire) {
    const [iSide, iEnd] = memoryDuplexPair();
    const [rSide, rEnd] = memoryDuplexPair();
    options.wire(iEnd, rEnd);
    initiatorSide = iSide;
    responderSide = rSide;
  } else {
    [initiatorSide, responderSide] = memoryDuplexPair();
  }
  const [initiator, responder] = await Promise.all([
    settle(
      secureInitiator(initiatorSide, {
        identity: i,
        verify: verifyDigest,
        expectedPublicKey: r.publicKey,
        ...options.initiatorOptions,
      }),
    ),
    settle(
      secureResponder(responderSide, { identity: r, verify: verifyDigest, ...options.responderOptions }),
    ),
  ]);
  return { initiator, responder };
}

export type FrameHook = (frame: Uint8Array, index: number) => Uint8Array[];

/**
 * Relay whole frames between two stream ends, letting a hook rewrite, drop, duplicate or reorder
 * them in each direction (index counts frames in that direction from 0).
 */
export function frameRelay(hookIR: FrameHook, hookRI: FrameHook): (iEnd: Duplex, rEnd: Duplex) => void {
  return (iEnd, rEnd) => {
    const pipe = (from: Duplex, to: Duplex, hook: FrameHook): void => {
      let index = 0;
      const reader = new FrameReader(
        (frame) => {
          for (const out of hook(frame.slice(), index)) if (to.writable) to.write(encodeFrame(out));
          index++;
        },
        () => to.destroy(),
        16 << 20,
      );
      from.on('data', (chunk: Buffer) => reader.push(chunk));
      from.on('end', () => to.end());
      from.on('close', () => to.destroy());
      from.on('error', () => {});
    };
    pipe(iEnd, rEnd, hookIR);
    pipe(rEnd, iEnd, hookRI);
  };
}

export const passThrough: FrameHook = (frame) => [frame];

/** The next close reason of a connection. */
export function closed(conn: SecureConnection): Promise<string> {
  return new Promise((resolve) => conn.onClose(resolve));
}

export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
