/**
 * One way to open an ioredis connection for kadmium's Redis users (the storage backends, the
 * shared token secrets): lazy connect with a bounded connect timeout, commands that fail after a
 * few retries instead of hanging, and a KadmiumError that says what to check when the server
 * cannot be reached.
 */
import { Redis } from 'ioredis';
import { KadmiumError } from '../util/errors.js';

export const REDIS_CONNECT_TIMEOUT_MS = 5_000;
export const REDIS_MAX_RETRIES_PER_REQUEST = 3;
/** Longest wait between reconnect attempts, ms. */
export const REDIS_RECONNECT_MAX_MS = 2_000;

export interface RedisConnectOptions {
  url: string;
  /** Reconnect attempts after a drop before giving up (default: never give up). */
  maxReconnects?: number;
  /** What the connection is for, named in the error ("for shared token secrets"). */
  purpose?: string;
}

/** Connect and ping; throws STORAGE_UNAVAILABLE (connection closed) when the server is not there. */
export async function connectRedis(options: RedisConnectOptions): Promise<Redis> {
  const limit = options.maxReconnects ?? Number.POSITIVE_INFINITY;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: REDIS_MAX_RETRIES_PER_REQUEST,
    retryStrategy: (times) => (times > limit ? null : Math.min(times * 100, REDIS_RECONNECT_MAX_MS)),
  });
  // ioredis reports connection trouble as 'error' events (and logs them when nobody listens);
  // commands fail on their own, so the event only needs to be kept for the message below.
  let lastError: unknown;
  redis.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const purpose = options.purpose ? ` ${options.purpose}` : '';
    throw new KadmiumError(
      'STORAGE_UNAVAILABLE',
      `cannot reach Redis at ${options.url}${purpose}: ${String(lastError ?? err)}; start redis-server or fix the storage url`,
      { cause: err },
    );
  }
  return redis;
}
