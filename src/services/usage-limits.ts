import type { Redis } from 'ioredis';
import { ERRORS } from '../errors.js';

/**
 * Per-user limits on costly work, shared by every process through Redis when
 * it is configured, in memory otherwise:
 * - the hourly creation quota (each created voice, batch items included,
 *   takes one; a creation that failed for the server's reasons gives it back);
 * - heavy work in flight (assessments, syntheses): at most N at once per user.
 * A Redis that does not answer skips the limit rather than failing the request
 * (as the request rate limits do).
 */

/** A counter that expires `ttlMs` after its first increment. */
export interface Counter {
  /** Adds `by` (may be negative) and returns the new value and the time left in ms. */
  add(key: string, by: number, ttlMs: number): Promise<{ value: number; ttlMs: number }>;
}

export class MemoryCounter implements Counter {
  private readonly entries = new Map<string, { value: number; expiresAt: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  async add(key: string, by: number, ttlMs: number) {
    const now = this.clock();
    let e = this.entries.get(key);
    if (!e || e.expiresAt <= now) {
      e = { value: 0, expiresAt: now + ttlMs };
      this.entries.set(key, e);
    }
    e.value += by;
    const left = e.expiresAt - now;
    if (e.value <= 0) this.entries.delete(key);
    if (this.entries.size > 100_000) this.prune(now);
    return { value: e.value, ttlMs: left };
  }

  private prune(now: number) {
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
  }
}

export class RedisCounter implements Counter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'timbre-limits:',
  ) {}

  async add(key: string, by: number, ttlMs: number) {
    const k = this.prefix + key;
    const res = await this.redis.multi().incrby(k, by).pexpire(k, ttlMs, 'NX').pttl(k).exec();
    if (!res) throw new Error('redis transaction aborted');
    for (const [err] of res) if (err) throw err;
    return { value: Number(res[0]![1]), ttlMs: Math.max(0, Number(res[2]![1])) };
  }
}

export type HeavyWork = 'assess' | 'synthesize';

export interface UsageLimitSettings {
  /** Voice creations per user per hour. */
  createPerHour: number;
  /** Heavy requests at once per user, by kind. */
  inFlight: Record<HeavyWork, number>;
  /** Retry-After (s) sent with an in-flight refusal. */
  retryAfterSec: number;
}

/** Something taken that can be given back once (idempotent). */
export interface Ticket {
  release(): Promise<void>;
}

const HOUR_MS = 3_600_000;
/** An in-flight count outlives a crashed process for at most this long. */
const IN_FLIGHT_TTL_MS = 10 * 60_000;

export class UsageLimits {
  constructor(
    private readonly counter: Counter,
    private readonly settings: UsageLimitSettings,
  ) {}

  /**
   * Takes one creation from the user's hourly quota, or throws 429 with
   * Retry-After. Release the ticket when the creation failed for the
   * server's reasons (the user keeps their quota).
   */
  async takeCreation(userId: string): Promise<Ticket> {
    const key = `create:${userId}`;
    const max = this.settings.createPerHour;
    const r = await this.tryAdd(key, 1, HOUR_MS);
    if (!r) return NOOP;
    if (r.value > max) {
      await this.tryAdd(key, -1, HOUR_MS);
      const sec = Math.max(1, Math.ceil(r.ttlMs / 1000));
      throw ERRORS.tooManyRequests('Too many requests', {
        info: `limit of ${max} per hour; retry in ${sec} s`,
        headers: { 'retry-after': String(sec) },
      });
    }
    return this.once(() => this.tryAdd(key, -1, HOUR_MS));
  }

  /** Claims a slot for heavy work of `kind`, or throws 429 with Retry-After. */
  async enter(kind: HeavyWork, userId: string): Promise<Ticket> {
    const key = `inflight:${kind}:${userId}`;
    const max = this.settings.inFlight[kind];
    const r = await this.tryAdd(key, 1, IN_FLIGHT_TTL_MS);
    if (!r) return NOOP;
    if (r.value > max) {
      await this.tryAdd(key, -1, IN_FLIGHT_TTL_MS);
      throw ERRORS.tooManyRequests('Too many requests', {
        info: `at most ${max} ${kind === 'assess' ? 'assessments' : 'syntheses'} at once per user; retry when one has finished`,
        headers: { 'retry-after': String(this.settings.retryAfterSec) },
      });
    }
    return this.once(() => this.tryAdd(key, -1, IN_FLIGHT_TTL_MS));
  }

  private async tryAdd(key: string, by: number, ttlMs: number) {
    try {
      return await this.counter.add(key, by, ttlMs);
    } catch {
      return undefined;
    }
  }

  private once(fn: () => Promise<unknown>): Ticket {
    let done = false;
    return {
      release: async () => {
        if (done) return;
        done = true;
        await fn();
      },
    };
  }
}

const NOOP: Ticket = { release: async () => undefined };
