import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { SpeechOutcome } from '../../services/openai/openai.service.js';
import { ERRORS } from '../../errors.js';
import { clientGoneSignal } from '../client-gone.js';
import { uploadParts } from '../files/multipart.js';
import { requireAccessToken } from '../plugins/auth.js';
import { openAiError, registerOpenAiErrors } from './errors.js';

const SpeechBody = Type.Object({
  model: Type.Optional(Type.Unknown()),
  input: Type.Optional(Type.Unknown()),
  voice: Type.Optional(Type.Unknown()),
  response_format: Type.Optional(Type.Unknown()),
  speed: Type.Optional(Type.Unknown()),
  instructions: Type.Optional(Type.Unknown()),
  stream_format: Type.Optional(Type.Unknown()),
});

const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

const ListedVoice = Type.Object({
  id: Type.String(),
  name: Type.String(),
  object: Type.Literal('voice'),
  created_at: Type.Integer(),
  owned_by: Type.String(),
  type: Type.String(),
  status: Type.String(),
});
const VoiceList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(ListedVoice),
  voices: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
});
const Model = Type.Object({
  id: Type.String(),
  name: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
});
const CustomVoice = Type.Object({
  id: Type.String(),
  object: Type.Literal('audio.voice'),
  name: Type.String(),
  created_at: Type.Integer(),
  type: Type.String(),
  status: Type.String(),
  error: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
const Consent = Type.Object({
  id: Type.String(),
  object: Type.Literal('audio.voice_consent'),
  name: Type.String(),
  language: Type.String(),
  created_at: Type.Integer(),
});
const Deleted = Type.Object({ id: Type.String(), object: Type.String(), deleted: Type.Boolean() });

/** The SSE body of a speech: one delta per audio chunk, then done with usage (or an error event). */
async function* sseEvents(r: SpeechOutcome, requestId: string): AsyncIterable<string> {
  try {
    for await (const chunk of r.stream) {
      const audio = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(
        'base64',
      );
      yield `data: ${JSON.stringify({ type: 'speech.audio.delta', audio })}\n\n`;
    }
  } catch (err) {
    // Headers are sent: the failure travels as an event, then the stream ends.
    yield `data: ${JSON.stringify(openAiError(err, requestId).body)}\n\n`;
    return;
  }
  yield `data: ${JSON.stringify({ type: 'speech.audio.done', usage: r.usage() })}\n\n`;
}

/**
 * OpenAI's speech and custom-voice API under `/v1`, for OpenAI clients and
 * SDKs. Authenticated like `/api` (Bearer access token, or API key where the
 * auth plugin accepts one); every error, unknown routes included, answers in
 * OpenAI's `{"error": {...}}` shape.
 */
export const openAiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { openai, tokens, config } = app.services;
  const uploadTimeouts = {
    idleMs: config.upload.idleTimeoutSec * 1000,
    totalMs: config.upload.totalTimeoutSec * 1000,
  };
  registerOpenAiErrors(app);
  const auth = requireAccessToken(tokens);
  /** Lists answer without a key when OPENAI_PUBLIC_LISTS is on (public voices only). */
  const listAuth = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const noKey = !header || /^Bearer\s*$/i.test(header.trim());
    if (config.openai.publicLists && noKey) return;
    await auth(request, reply);
  };
  const maybeUser = (request: FastifyRequest): string | undefined =>
    (request as FastifyRequest & { userId?: string }).userId;
  const tags = ['openai'];
  const security = [{ bearer: [] }];

  app.post(
    '/audio/speech',
    {
      onRequest: auth,
      config: { rateLimitProfile: 'synthesize' },
      schema: {
        tags,
        security,
        description:
          "OpenAI's text to speech: streams audio (`stream_format: audio`) or SSE events (`sse`).",
        body: SpeechBody,
      },
    },
    async (request, reply) => {
      const r = await openai.speak(request.userId, request.body, {
        signal: clientGoneSignal(reply),
      });
      if (r.sse) {
        return reply
          .status(200)
          .header('cache-control', 'no-cache')
          .type('text/event-stream; charset=utf-8')
          .send(Readable.from(sseEvents(r, request.id)));
      }
      return reply.status(200).type(r.contentType).send(Readable.from(r.stream));
    },
  );

  app.get(
    '/audio/voices',
    {
      onRequest: listAuth,
      schema: {
        tags,
        security,
        description:
          'Voices you may use, in two shapes at once: OpenAI-style `data` and `voices: [{id, name}]`.',
        response: { 200: VoiceList },
      },
    },
    async (request) => openai.listVoices(maybeUser(request)),
  );

  const modelList = () => {
    const data = openai.models();
    return {
      object: 'list' as const,
      data,
      models: data.map((m) => ({ id: m.id, name: m.name })),
    };
  };
  app.get(
    '/audio/models',
    {
      onRequest: listAuth,
      schema: {
        tags,
        security,
        response: {
          200: Type.Object({
            object: Type.Literal('list'),
            data: Type.Array(Model),
            models: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
          }),
        },
      },
    },
    async () => modelList(),
  );
  app.get(
    '/models',
    {
      onRequest: listAuth,
      schema: {
        tags,
        security,
        response: { 200: Type.Object({ object: Type.Literal('list'), data: Type.Array(Model) }) },
      },
    },
    async () => ({ object: 'list' as const, data: modelList().data }),
  );
  app.get(
    '/models/:id',
    { onRequest: listAuth, schema: { tags, security, params: IdParams, response: { 200: Model } } },
    async (request) => {
      const m = openai.models().find((x) => x.id === request.params.id);
      if (!m) {
        throw ERRORS.notFound(`The model '${request.params.id}' does not exist`, {
          extra: { param: 'model', openai_code: 'model_not_found' },
        });
      }
      return m;
    },
  );

  app.post(
    '/audio/voice_consents',
    {
      onRequest: auth,
      schema: {
        tags,
        security,
        description: 'Uploads a consent recording (multipart `name`, `language`, `recording`).',
        consumes: ['multipart/form-data'],
        response: { 200: Consent },
      },
    },
    async (request) => openai.createConsent(request.userId, uploadParts(request, uploadTimeouts)),
  );
  app.get(
    '/audio/voice_consents',
    { onRequest: auth, schema: { tags, security } },
    async (request) => openai.listConsents(request.userId),
  );
  app.get(
    '/audio/voice_consents/:id',
    { onRequest: auth, schema: { tags, security, params: IdParams, response: { 200: Consent } } },
    async (request) => openai.getConsent(request.userId, request.params.id),
  );
  app.delete(
    '/audio/voice_consents/:id',
    { onRequest: auth, schema: { tags, security, params: IdParams, response: { 200: Deleted } } },
    async (request) => openai.deleteConsent(request.userId, request.params.id),
  );

  app.post(
    '/audio/voices',
    {
      onRequest: auth,
      schema: {
        tags,
        security,
        description:
          "Clones a voice (multipart `name`, `audio_sample`, `consent`) through Timbre's creation job; answers the voice with its `status`.",
        consumes: ['multipart/form-data'],
        response: { 200: CustomVoice },
      },
    },
    async (request) => openai.createVoice(request.userId, uploadParts(request, uploadTimeouts)),
  );
  app.get(
    '/audio/voices/:id',
    {
      onRequest: auth,
      schema: { tags, security, params: IdParams, response: { 200: CustomVoice } },
    },
    async (request) => openai.getVoice(request.userId, request.params.id),
  );
  app.delete(
    '/audio/voices/:id',
    { onRequest: auth, schema: { tags, security, params: IdParams, response: { 200: Deleted } } },
    async (request) => openai.deleteVoice(request.userId, request.params.id),
  );
};
