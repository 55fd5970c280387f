/**
 * Every error kadmium throws carries a stable string `code` a program can switch on, and a message
 * that tells a person what to do next.
 */
export class KadmiumError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A remote node answered a query with a KRPC error (BEP 5 codes 201-204, BEP 44 205-207, 301, 302). */
export class KrpcRemoteError extends KadmiumError {
  constructor(
    readonly krpcCode: number,
    readonly remoteMessage: string,
  ) {
    super('KRPC_REMOTE_ERROR', `remote node replied with error ${krpcCode}: ${remoteMessage}`);
  }
}

export class TimeoutError extends KadmiumError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

export class AbortError extends KadmiumError {
  constructor(message = 'the operation was aborted') {
    super('ABORTED', message);
  }
}

export class InvalidArgumentError extends KadmiumError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export class ClosedError extends KadmiumError {
  constructor(message = 'the node is closed; create a new one to continue') {
    super('CLOSED', message);
  }
}
