export * from './item-store.js';
export * from './open.js';
export * from './peer-store.js';
export type { RedisOptions } from './redis.js';
export type { SqliteOptions } from './sqlite.js';
export * from './state-store.js';
