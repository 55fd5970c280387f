/**
 * Token secrets shared by sibling nodes behind one service: every node that uses the same Redis
 * and namespace issues and accepts the same write tokens, so a client may get_peers from one and
 * announce to another.
 *
 * The time component is explicit: the secret of epoch e = floor(now / rotateMs) is one Redis key,
 * `<namespace>token-secret:<e>`, 64 random bytes created by whichever sibling asks first (SET NX,
 * so they never disagree) and expiring by itself three periods later. A node holds the secrets of
 * e and e - 1 (tokens live one to two periods, as with local secrets). Siblings' clocks need to
 * agree to within a period; a skewed one still accepts the previous epoch's tokens.
 */
import type { Redis } from 'ioredis';
import { KadmiumError } from '../util/errors.js';
import { connectRedis } from './redis-connect.js';

export const TOKEN_SECRET_BYTES = 64;

/** Where a node gets the secrets for an epoch (the one now and the one before). */
export interface TokenSecretSource {
  secrets(epoch: number): Promise<{ current: Uint8Array; previous: Uint8Array }>;
  close(): Promise<void>;
}

export interface RedisTokenSecretsOptions {
  url: string;
  /** Prefix of the keys, e.g. "kadmium:mainnet:" (the storage namespace). */
  namespace: string;
  /** Length of an epoch, ms (the token rotation period). */
  rotateMs: number;
  /** 64 random bytes for a secret this node proposes (the injected Random's). */
  randomBytes: (n: number) => Uint8Array;
}

export class RedisTokenSecrets implements TokenSecretSource {
  private constructor(
    private readonly redis: Redis,
    private readonly options: RedisTokenSecretsOptions,
  ) {}

  static async open(options: RedisTokenSecretsOptions): Promise<RedisTokenSecrets> {
    const redis = await connectRedis({
      url: options.url,
      maxReconnects: 10,
      purpose: 'for shared token secrets',
    });
    return new RedisTokenSecrets(redis, options);
  }

  async secrets(epoch: number): Promise<{ current: Uint8Array; previous: Uint8Array }> {
    const [current, previous] = await Promise.all([this.secret(epoch), this.secret(epoch - 1)]);
    return { current, previous };
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }

  /** The epoch's secret: ours if no sibling made one first, theirs otherwise. */
  private async secret(epoch: number): Promise<Uint8Array> {
    const key = `${this.options.namespace}token-secret:${epoch}`;
    const proposal = Buffer.from(this.options.randomBytes(TOKEN_SECRET_BYTES));
    await this.redis.set(key, proposal, 'PX', 3 * this.options.rotateMs, 'NX');
    const stored = await this.redis.getBuffer(key);
    if (!stored || stored.length !== TOKEN_SECRET_BYTES)
      throw new KadmiumError(
        'STORAGE_UNAVAILABLE',
        `shared token secret ${key} is missing or malformed; check that nothing else writes that key`,
      );
    return new Uint8Array(stored);
  }
}
