/** Errors of the secure channel and stream transport; each code is stable, each message says what to do. */
import { KadmiumError } from '../../util/errors.js';

/** A handshake failed: bad signature, wrong key, refused puzzle, timeout, malformed message. */
export class HandshakeError extends KadmiumError {
  constructor(readonly reason: string) {
    super(
      'HANDSHAKE_FAILED',
      `secure handshake failed: ${reason}; check the peer's key and address, then retry`,
    );
  }
}

/** The pool is at its cap of connections or of handshakes in progress. */
export class ConnectionLimitError extends KadmiumError {
  constructor(what: string) {
    super('CONNECTION_LIMIT', `${what}; wait for connections to close or raise the limit`);
  }
}

/** A frame body larger than the channel's limit: split it, or raise maxFrameBytes on both sides. */
export class FrameTooLargeError extends KadmiumError {
  constructor(size: number, max: number) {
    super('FRAME_TOO_LARGE', `a frame of ${size} bytes exceeds the ${max}-byte limit; send smaller frames`);
  }
}

/** Dialling failed before the handshake began (refused, unreachable, reset). */
export class DialError extends KadmiumError {
  constructor(target: string, cause: unknown) {
    super(
      'DIAL_FAILED',
      `could not open a TCP connection to ${target}: ${messageOf(cause)}; check the address`,
      {
        cause,
      },
    );
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
