import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { timingSafeEqual } from 'node:crypto';
import { ERRORS } from '../../errors.js';

/** `GET /metrics`: Prometheus text, behind a bearer METRICS_TOKEN (404 when none is set). */
export const metricsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { metrics, config } = app.services;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        description: 'Prometheus metrics; `Authorization: Bearer $METRICS_TOKEN`.',
        response: { 200: Type.String(), '4xx': Type.Ref('ErrorEnvelope') },
      },
    },
    async (request, reply) => {
      if (!config.metricsToken)
        throw ERRORS.notFound('Not found', { info: 'metrics are off: set METRICS_TOKEN' });
      const given = Buffer.from(
        /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '',
      );
      const want = Buffer.from(config.metricsToken);
      if (given.length !== want.length || !timingSafeEqual(given, want)) {
        throw ERRORS.unauthorized('Invalid metrics token');
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
};
