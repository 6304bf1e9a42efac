import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { DbHandle } from '../repositories/db.js';

export interface HealthCheck {
  ok: boolean;
  latency_ms: number;
  error?: string;
  /** workers: how many job workers are alive across every process. */
  alive?: number;
}

export interface HealthReport {
  /** This process's own dependencies answer (HTTP 200, else 503). */
  ok: boolean;
  /** `ok` and at least one job worker is alive (else the status says degraded). */
  healthy: boolean;
  checks: Record<string, HealthCheck>;
}

/** A dependency that does not answer within this long counts as down. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * Whether every configured dependency answers (the database always, Redis
 * when configured), and whether any job worker is alive. With no live worker
 * the report is degraded but `ok` stays true: this process still serves
 * everything but creations, and a load balancer must not drop it for that.
 */
export class HealthService {
  constructor(
    private readonly db: DbHandle,
    private readonly redis?: Redis,
    private readonly workersAlive?: () => Promise<number>,
  ) {}

  async check(): Promise<HealthReport> {
    const checks: Record<string, HealthCheck> = {};
    checks.database = await probe(() => sql`select 1`.execute(this.db.db));
    const redis = this.redis;
    if (redis) checks.redis = await probe(() => redis.ping());
    const ok = Object.values(checks).every((c) => c.ok);
    const workersAlive = this.workersAlive;
    if (!workersAlive) return { ok, healthy: ok, checks };
    let alive = 0;
    checks.workers = await probe(async () => {
      alive = await workersAlive();
      if (alive === 0) throw new Error('no job worker is alive: voices cannot be created');
    });
    if (checks.database.ok) checks.workers.alive = alive;
    return { ok, healthy: ok && checks.workers.ok, checks };
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
