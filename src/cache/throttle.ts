import type { Redis } from 'ioredis';

/** A counter in a fixed window: how many so far and seconds until the window ends. */
export interface Count {
  count: number;
  ttlSec: number;
}

/**
 * Fixed-window counters for brute-force limits (failed logins, captcha
 * sends). `RedisThrottle` shares them across processes; `MemoryThrottle`
 * is for a single process without Redis.
 */
export interface Throttle {
  /** Adds one to `key`'s counter (starting a window of `windowSec` if none). */
  hit(key: string, windowSec: number): Promise<Count>;
  /** The counter without changing it (0 when there is none). */
  peek(key: string): Promise<Count>;
  reset(key: string): Promise<void>;
}

export class MemoryThrottle implements Throttle {
  private readonly counters = new Map<string, { count: number; until: number }>();

  constructor(private readonly nowMs: () => number = () => Date.now()) {}

  private live(key: string) {
    const c = this.counters.get(key);
    if (c && c.until <= this.nowMs()) {
      this.counters.delete(key);
      return undefined;
    }
    return c;
  }

  async hit(key: string, windowSec: number): Promise<Count> {
    let c = this.live(key);
    if (!c) {
      // Bounded memory: an attacker spraying identifiers cannot grow it forever.
      if (this.counters.size >= 100_000) this.sweep();
      c = { count: 0, until: this.nowMs() + windowSec * 1000 };
      this.counters.set(key, c);
    }
    c.count++;
    return { count: c.count, ttlSec: Math.max(1, Math.ceil((c.until - this.nowMs()) / 1000)) };
  }

  async peek(key: string): Promise<Count> {
    const c = this.live(key);
    return c
      ? { count: c.count, ttlSec: Math.max(1, Math.ceil((c.until - this.nowMs()) / 1000)) }
      : { count: 0, ttlSec: 0 };
  }

  async reset(key: string): Promise<void> {
    this.counters.delete(key);
  }

  private sweep(): void {
    const now = this.nowMs();
    for (const [k, c] of this.counters) if (c.until <= now) this.counters.delete(k);
    if (this.counters.size >= 100_000) this.counters.clear();
  }
}

/** INCR and the window's expiry in one round trip, atomically. */
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

export class RedisThrottle implements Throttle {
  constructor(
    private readonly redis: Redis,
    /** The installation's namespace, e.g. `timbre:`. */
    private readonly ns: string,
  ) {}

  async hit(key: string, windowSec: number): Promise<Count> {
    const [count, ttl] = (await this.redis.eval(HIT, 1, this.ns + 'thr:' + key, windowSec)) as [
      number,
      number,
    ];
    return { count, ttlSec: Math.max(1, ttl) };
  }

  async peek(key: string): Promise<Count> {
    const k = this.ns + 'thr:' + key;
    const [[, v], [, ttl]] = (await this.redis.multi().get(k).ttl(k).exec()) as [
      [unknown, string | null],
      [unknown, number],
    ];
    return v ? { count: Number(v), ttlSec: Math.max(1, ttl) } : { count: 0, ttlSec: 0 };
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.ns + 'thr:' + key);
  }
}
