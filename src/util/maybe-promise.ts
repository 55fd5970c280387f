/**
 * A value that is there now, or a promise of it: lets a synchronous backend (process memory,
 * SQLite) answer without a trip through the microtask queue while an asynchronous one (Redis)
 * keeps its promise. Only native promises count as pending; any other value is used as is.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `f` of the value: called now when the value is there, else when the promise fulfils. */
export function then<T, U>(value: MaybePromise<T>, f: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}
