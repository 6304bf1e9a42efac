import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { envelope, responses } from '../schemas/common.js';

const Check = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
  alive: Type.Optional(Type.Integer({ description: 'workers: how many are alive' })),
});
const Report = envelope({ status: Type.String(), checks: Type.Record(Type.String(), Check) });

/**
 * `GET /api/health`: 200 when every configured dependency answers, else 503.
 * With no live job worker anywhere the status is `degraded` but the answer
 * stays 200: this process still serves everything but creations, and a load
 * balancer must not drop it for a missing worker.
 */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { health } = app.services;
  app.get(
    '/health',
    { schema: { tags: ['ops'], response: responses({ 200: Report, 503: Report }) } },
    async (_request, reply) => {
      const { ok, healthy, checks } = await health.check();
      return reply.status(ok ? 200 : 503).send({
        code: ok ? 200 : 503,
        message: healthy ? 'ok' : 'degraded',
        status: healthy ? 'ok' : 'degraded',
        checks,
      });
    },
  );
};
