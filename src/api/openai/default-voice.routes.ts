import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requireAccessToken } from '../plugins/auth.js';
import { envelope, responses } from '../schemas/common.js';

const DefaultVoice = {
  voice_id: Type.Union([Type.String(), Type.Null()]),
  server_default: Type.Union([Type.String(), Type.Null()]),
};

/**
 * The caller's default voice: what OpenAI's built-in voice names (alloy,
 * nova…) speak with on `/v1/audio/speech`. Null falls back to the server's
 * OPENAI_DEFAULT_VOICE.
 */
export const defaultVoiceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { openai, tokens } = app.services;
  app.addHook('onRequest', requireAccessToken(tokens));

  app.get(
    '/default_voice',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: the voice OpenAI-compatible clients get for `alloy`, `nova`…',
        response: responses({ 200: envelope(DefaultVoice) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'get default voice success',
      ...(await openai.defaultVoice(request.userId)),
    }),
  );

  app.put(
    '/default_voice',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: sets (or with `null` clears) your default voice.',
        body: Type.Object({ voice_id: Type.Optional(Type.Unknown()) }),
        response: responses({ 200: envelope(DefaultVoice) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'set default voice success',
      ...(await openai.setDefaultVoice(request.userId, request.body.voice_id ?? null)),
    }),
  );
};
