import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireAccessToken } from '../plugins/auth.js';
import { envelope, responses, Timestamp, Uuid } from '../schemas/common.js';

/** **new** `GET /api/file/<id>/voices`: who cloned the caller's recording (404 unless hers). */
export const fileVoicesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { voices, tokens } = app.services;
  app.get(
    '/:file_id/voices',
    {
      onRequest: requireAccessToken(tokens),
      schema: {
        tags: ['files'],
        security: [{ bearer: [] }],
        params: Type.Object({ file_id: Uuid }),
        response: responses({
          200: envelope({
            voices: Type.Array(
              Type.Object({
                voice_id: Type.String(),
                voice_name: Type.String(),
                status: Type.String(),
                created_by_user_id: Type.String(),
                created_by_username: Type.String(),
                created_at: Timestamp,
                consent: Type.Union([
                  Type.Object({ attested_at: Timestamp, statement: Type.String() }),
                  Type.Null(),
                ]),
              }),
            ),
          }),
        }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'ok',
      voices: await voices.madeFromFile(request.userId, request.params.file_id),
    }),
  );
};
