import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { envelope, responses } from '../schemas/common.js';

const Check = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
});

/** `GET /api/health`: 200 when every configured dependency answers, else 503. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, redis } = app.services;
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
      const checks: Record<string, { ok: boolean; latency_ms: number; error?: string }> = {};
      checks.database = await probe(() => sql`select 1`.execute(db.db));
      if (redis) checks.redis = await probe(() => redis.ping());
      const ok = Object.values(checks).every((c) => c.ok);
      return reply.status(ok ? 200 : 503).send({
        code: ok ? 200 : 503,
        message: ok ? 'ok' : 'degraded',
        status: ok ? 'ok' : 'degraded',
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
