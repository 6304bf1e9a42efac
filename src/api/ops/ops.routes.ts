import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { ERRORS } from '../../errors.js';

/** onRequest hook: the bearer METRICS_TOKEN (404 while none is configured). */
export function requireMetricsToken(token: string | undefined) {
  const want = token ? Buffer.from(token) : undefined;
  return async (request: FastifyRequest): Promise<void> => {
    if (!want) throw ERRORS.notFound('Not found', { info: 'metrics are off: set METRICS_TOKEN' });
    const given = Buffer.from(
      /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '',
    );
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      throw ERRORS.unauthorized('Invalid metrics token');
    }
  };
}

/** `GET /metrics`: Prometheus text, behind a bearer METRICS_TOKEN (404 when none is set). */
export const metricsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { metrics, config } = app.services;
  app.get(
    '/metrics',
    {
      onRequest: requireMetricsToken(config.metricsToken),
      schema: {
        tags: ['ops'],
        description: 'Prometheus metrics; `Authorization: Bearer $METRICS_TOKEN`.',
        response: { 200: Type.String(), '4xx': Type.Ref('ErrorEnvelope') },
      },
    },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
