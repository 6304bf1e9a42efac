import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { envelope, responses } from '../schemas/common.js';

const Check = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Number(),
  error: Type.Optional(Type.String()),
});
const Report = envelope({ status: Type.String(), checks: Type.Record(Type.String(), Check) });

/** `GET /api/health`: 200 when every configured dependency answers, else 503. Never shed. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { health } = app.services;
  app.get(
    '/health',
    { schema: { tags: ['ops'], response: responses({ 200: Report, 503: Report }) } },
    async (_request, reply) => {
      const { ok, checks } = await health.check();
      return reply.status(ok ? 200 : 503).send({
        code: ok ? 200 : 503,
        message: ok ? 'ok' : 'degraded',
        status: ok ? 'ok' : 'degraded',
        checks,
      });
    },
  );
};
