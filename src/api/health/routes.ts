import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { envelope, responses } from '../schemas/common.js';

const Check = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
  alive: Type.Optional(Type.Integer({ description: 'workers: how many are alive' })),
});

/**
 * `GET /api/health`: 200 when every configured dependency answers, else 503.
 * With no live job worker anywhere the status is `degraded` but the answer
 * stays 200: this process still serves everything but creations, and a load
 * balancer must not drop it for a missing worker.
 */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, redis } = app.services;
  const workersAlive = () => app.services.workersAlive();
  app.get(
    '/health',
    {
      schema: {
        tags: ['ops'],
        response: responses({
          200: envelope({ status: Type.String(), checks: Type.Record(Type.String(), Check) }),
          503: envelope({ status: Type.String(), checks: Type.Record(Type.String(), Check) }),
        }),
      },
    },
    async (_request, reply) => {
      const checks: Record<
        string,
        { ok: boolean; latency_ms: number; error?: string; alive?: number }
      > = {};
      checks.database = await probe(() => sql`select 1`.execute(db.db));
      if (redis) checks.redis = await probe(() => redis.ping());
      const ok = Object.values(checks).every((c) => c.ok);
      let alive = 0;
      checks.workers = await probe(async () => {
        alive = await workersAlive();
        if (alive === 0) throw new Error('no job worker is alive: voices cannot be created');
      });
      if (checks.database.ok) checks.workers.alive = alive;
      const healthy = ok && checks.workers.ok;
      return reply.status(ok ? 200 : 503).send({
        code: ok ? 200 : 503,
        message: healthy ? 'ok' : 'degraded',
        status: healthy ? 'ok' : 'degraded',
        checks,
      });
    },
  );
};

/** A dependency that does not answer within this long counts as down. */
const PROBE_TIMEOUT_MS = 2000;

async function probe(fn: () => Promise<unknown>) {
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
