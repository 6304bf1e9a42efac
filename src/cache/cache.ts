import { randomUUID } from 'node:crypto';

/**
 * A small string cache. `RedisCache` when REDIS_URL is set; `NoCache` on the
 * embedded default (a single process reads its own SQLite faster than any
 * cache could help, and there is nothing to keep coherent).
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSec: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Atomically bumps a counter (used as a generation number for invalidation). */
  incr(key: string): Promise<number>;
}

export class NoCache implements Cache {
  async get(): Promise<string | undefined> {
    return undefined;
  }
  async set(): Promise<void> {}
  async del(): Promise<void> {}
  async incr(): Promise<number> {
    return 0;
  }
}

/**
 * Read-through JSON caching with generation-based invalidation: bumping the
 * generation makes every older entry unreachable at once.
 */
export class JsonCache {
  constructor(
    private readonly cache: Cache,
    private readonly ttlSec: number,
    private readonly onLookup?: (hit: boolean) => void,
  ) {}

  /**
   * The current generation. When the cache cannot be read, a one-off value:
   * keys built from it are never met again, so nothing stale is served.
   */
  async generation(name: string): Promise<string> {
    try {
      return (await this.cache.get(`gen:${name}`)) ?? '0';
    } catch {
      return `x${randomUUID()}`;
    }
  }

  /**
   * Makes older entries unreachable. A cache that cannot be written to now
   * may keep entries it had for up to their TTL.
   */
  async bump(name: string): Promise<void> {
    await this.cache.incr(`gen:${name}`).catch(() => undefined);
  }

  async remember<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = await this.cache.get(key).catch(() => undefined);
    if (hit !== undefined) {
      this.onLookup?.(true);
      return JSON.parse(hit) as T;
    }
    this.onLookup?.(false);
    const value = await load();
    // Misses are not cached: the row may be written a moment later.
    if (value !== undefined) {
      await this.cache.set(key, JSON.stringify(value), this.ttlSec).catch(() => undefined);
    }
    return value;
  }

  async forget(key: string): Promise<void> {
    await this.cache.del(key).catch(() => undefined);
  }

  /**
   * Read-through caching of one record that never goes back in time. The
   * entry is stored under the record's current version token, read BEFORE
   * the database; a writer replaces the token AFTER its write
   * (`invalidate`). A reader that loaded the old row and stores it late
   * stores it under the old token, which nobody reads any more.
   *
   * The token lives twice as long as an entry (plus a minute), so when it
   * lapses no entry stored under an older token can still be alive (unless
   * one reader took longer than the TTL between its two steps).
   */
  async rememberRecord<T>(key: string, load: () => Promise<T>): Promise<T> {
    let version: string;
    try {
      version = (await this.cache.get(`ver:${key}`)) ?? '0';
    } catch {
      this.onLookup?.(false);
      return load();
    }
    return this.remember(`${key}@${version}`, load);
  }

  /** After writing a record: older cached copies become unreachable everywhere at once. */
  async invalidate(key: string): Promise<void> {
    await this.cache.set(`ver:${key}`, randomUUID(), this.ttlSec * 2 + 60).catch(() => undefined);
  }
}
