import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireAccessToken } from '../plugins/auth.js';
import { envelope, responses, Timestamp, Uuid } from '../schemas/common.js';

/** `/api/auth/api_keys` **new**: keys for apps (`Authorization: Bearer tmb_…`). */
export const apiKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { sessions, tokens } = app.services;
  app.addHook('onRequest', requireAccessToken(tokens));
  const security = [{ bearer: [] }];

  app.post(
    '/api_keys',
    {
      schema: {
        tags: ['auth'],
        security,
        body: Type.Object({ name: Type.String({ maxLength: 200 }) }),
        response: responses({
          201: envelope({
            id: Type.String(),
            name: Type.String(),
            key: Type.String({ description: 'shown only in this answer' }),
            created_at: Timestamp,
          }),
        }),
      },
    },
    async (request, reply) => {
      const key = await sessions.createApiKey(request.actor, request.body.name);
      return reply.status(201).send({ code: 201, message: 'api key created', ...key });
    },
  );

  app.get(
    '/api_keys',
    {
      schema: {
        tags: ['auth'],
        security,
        response: responses({
          200: envelope({
            api_keys: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                prefix: Type.String(),
                created_at: Timestamp,
                last_used_at: Type.Union([Timestamp, Type.Null()]),
              }),
            ),
          }),
        }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'ok',
      api_keys: await sessions.listApiKeys(request.actor),
    }),
  );

  app.delete(
    '/api_keys/:id',
    {
      schema: {
        tags: ['auth'],
        security,
        params: Type.Object({ id: Uuid }),
        response: responses({ 200: envelope({}) }),
      },
    },
    async (request) => {
      await sessions.revokeApiKey(request.actor, request.params.id);
      return { code: 200, message: 'api key revoked' };
    },
  );
};
