/**
 * Optional packages are loaded with dynamic import() only when their network is configured, so
 * the core install (and a client for Mainline alone) never touches them.
 */
import type { NetworkName } from './types.js';
import { AdapterUnavailableError } from './errors.js';

/** How a module is loaded; tests and bundlers may pass their own (one resolving elsewhere). */
export type ImportModule = (specifier: string) => Promise<unknown>;

export const defaultImport: ImportModule = (specifier) => import(specifier);

/**
 * libp2p 3's dependencies call Promise.withResolvers, a Node 22 API. On Node 20 the call fails
 * deep inside a dial; define the standard behaviour before libp2p loads.
 */
export function polyfillWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new this<T>((a, b) => {
        resolve = a;
        reject = b;
      });
      return { promise, resolve, reject };
    },
  });
}

/** Load every package of one adapter, or throw ADAPTER_UNAVAILABLE naming them all. */
export async function loadModules<T extends readonly string[]>(
  network: NetworkName,
  specifiers: T,
  importModule: ImportModule = defaultImport,
): Promise<Record<T[number], any>> {
  try {
    const loaded = await Promise.all(specifiers.map((s) => importModule(s)));
    const out: Record<string, unknown> = {};
    specifiers.forEach((s, i) => (out[s] = loaded[i]));
    return out as Record<T[number], any>;
  } catch (err) {
    throw new AdapterUnavailableError(network, [...specifiers], err);
  }
}
