import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { DbHandle } from '../repositories/db.js';

export interface HealthCheck {
  ok: boolean;
  latency_ms: number;
  error?: string;
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, HealthCheck>;
}

/** A dependency that does not answer within this long counts as down. */
const PROBE_TIMEOUT_MS = 2000;

/** Whether every configured dependency answers: the database always, Redis when configured. */
export class HealthService {
  constructor(
    private readonly db: DbHandle,
    private readonly redis?: Redis,
  ) {}

  async check(): Promise<HealthReport> {
    const checks: Record<string, HealthCheck> = {};
    checks.database = await probe(() => sql`select 1`.execute(this.db.db));
    const redis = this.redis;
    if (redis) checks.redis = await probe(() => redis.ping());
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }
}

async function probe(fn: () => Promise<unknown>): Promise<HealthCheck> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
          PROBE_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latency_ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return {
      ok: false,
      latency_ms: Math.round(performance.now() - t0),
      error: (err as Error).message.slice(0, 200),
    };
  } finally {
    clearTimeout(timer);
  }
}
