/** The universal client's failures, each with a code a program can switch on. */
import { KadmiumError } from '../util/errors.js';
import type { NetworkName } from './types.js';

/** The network has no such operation (Ethereum's discv5 stores no records a client can put). */
export class UnsupportedError extends KadmiumError {
  constructor(network: NetworkName | 'any', operation: string, hint = '') {
    super(
      'UNSUPPORTED',
      `${network === 'any' ? 'no configured network' : network} does not support ${operation}` +
        (hint ? `; ${hint}` : '; ask another network (client.capabilities() lists what each can do)'),
    );
  }
}

/** The operation named a network the client was not configured for. */
export class NotConfiguredError extends KadmiumError {
  constructor(network: NetworkName) {
    super(
      'NOT_CONFIGURED',
      `the ${network} network is not configured; pass a "${network}" section (its bootstrap) to UniversalClient.create`,
    );
  }
}

/** The optional package an adapter needs is not installed (or fails to load on this Node). */
export class AdapterUnavailableError extends KadmiumError {
  constructor(network: NetworkName, packages: string[], cause: unknown) {
    super(
      'ADAPTER_UNAVAILABLE',
      `the ${network} adapter needs ${packages.join(', ')}, which could not be loaded ` +
        `(${cause instanceof Error ? cause.message : String(cause)}); install kadmium with its optional ` +
        `dependencies (npm install without --omit=optional)`,
      { cause },
    );
  }
}

/** A bridged or federated document that does not verify. */
export class VerificationError extends KadmiumError {
  constructor(message: string) {
    super('NOT_VERIFIED', message);
  }
}
