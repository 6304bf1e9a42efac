import type { Redis } from 'ioredis';
import type { Cache } from './cache.js';

/** The cache on Redis; keys are namespaced so one Redis can serve several installs. */
export class RedisCache implements Cache {
  constructor(
    private readonly redis: Redis,
    private readonly ns = 'timbre:',
  ) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.ns + key)) ?? undefined;
  }
  async set(key: string, value: string, ttlSec: number): Promise<void> {
    await this.redis.set(this.ns + key, value, 'EX', ttlSec);
  }
  async del(key: string): Promise<void> {
    await this.redis.del(this.ns + key);
  }
  async incr(key: string): Promise<number> {
    return this.redis.incr(this.ns + key);
  }
}
