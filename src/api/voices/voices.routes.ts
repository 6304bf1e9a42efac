import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Readable } from 'node:stream';
import { ERRORS } from '../../errors.js';
import { clientGoneSignal } from '../client-gone.js';
import { Admission, useAdmission } from '../plugins/admission.js';
import { requireAccessToken } from '../plugins/auth.js';
import { conditionalHeaders, ConditionalHeaders, sendDownload } from '../download.js';
import { envelope, responses } from '../schemas/common.js';
import {
  AssessBody,
  BatchCreateBody,
  BatchResult,
  CreateVoiceBody,
  CreateVoiceQuery,
  ListVoicesBody,
  Quality,
  ShareBody,
  ShareItem,
  ShareParams,
  SynthesizeBody,
  UpdateVoiceBody,
  VerifyBody,
  VoiceObject,
  VoiceParams,
} from '../schemas/voices.js';

const Binary = Type.Unsafe<unknown>({ description: 'the audio bytes (Range supported)' });

/** `/api/voice/*` (contract §Voices, plus the new endpoints). */
export const voiceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { voices, tokens, config } = app.services;
  // Before authentication: a creation waiting for its turn has cost nothing yet.
  useAdmission(app, new Admission(config.createSetup));
  app.addHook('onRequest', requireAccessToken(tokens));

  app.post(
    '/create_voice',
    {
      config: { admission: true },
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          'Clones a voice from an uploaded sample. Waits (bounded) for the job and answers 200 as the original; with `?async=1` or `Prefer: respond-async`, or when the wait runs out, answers 202 with `voice_id` and `status`.',
        querystring: CreateVoiceQuery,
        body: CreateVoiceBody,
        response: responses({
          200: envelope({
            voice: VoiceObject,
            dashscope_voice_id: Type.Union([Type.String(), Type.Null()]),
          }),
          202: envelope({ voice_id: Type.String(), status: Type.String(), voice: VoiceObject }),
        }),
      },
    },
    async (request, reply) => {
      const wantsAsync =
        request.query.async === '1' ||
        request.query.async === 'true' ||
        /respond-async/i.test(String(request.headers.prefer ?? ''));
      const r = await voices.create(request.userId, request.body, {
        wait: !wantsAsync,
        // Waiting for the job is not set-up: the next creation may start.
        onQueued: request.leaveAdmission,
      });
      if (r.kind === 'ready') {
        return reply.status(200).send({
          code: 200,
          message: 'create voice success',
          voice: r.voice,
          dashscope_voice_id: r.voice.call_name,
        });
      }
      return reply.status(202).header('location', `/api/voice/${r.voice.voice_id}`).send({
        code: 202,
        message: 'create voice accepted',
        voice_id: r.voice.voice_id,
        status: r.voice.status,
        voice: r.voice,
      });
    },
  );

  app.post(
    '/batch_create',
    {
      config: { admission: true },
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: many samples → many voices (at most 20), each created asynchronously; per-item results.',
        body: BatchCreateBody,
        response: responses({ 202: envelope({ results: Type.Array(BatchResult) }) }),
      },
    },
    async (request, reply) => {
      const results = await voices.createMany(request.userId, request.body.voices);
      const accepted = results.filter((r) => r.code === 202).length;
      const limited = results.find((r) => r.code === 429);
      if (!accepted && limited && results.every((r) => r.code === 429)) {
        throw ERRORS.tooManyRequests('Too many requests', {
          info: limited.error_info ?? 'retry later',
          headers: { 'retry-after': limited.retry_after ?? '60' },
          extra: { results },
        });
      }
      if (!accepted) {
        throw ERRORS.badRequest('No voice could be created', {
          info: 'see results for each item',
          extra: { results },
        });
      }
      return reply
        .status(202)
        .send({ code: 202, message: `${accepted} of ${results.length} voices accepted`, results });
    },
  );

  app.post(
    '/assess_sample',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: judges a sample before any provider call, with actionable advice.',
        body: AssessBody,
        response: responses({ 200: envelope({ quality: Quality }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'assess sample success',
      quality: await voices.assessSample(request.userId, request.body.audio_file_id),
    }),
  );

  app.post(
    '/get_voices',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        body: Type.Optional(ListVoicesBody),
        response: responses({
          200: envelope({ has_next: Type.Boolean(), voices: Type.Array(VoiceObject) }),
        }),
      },
    },
    async (request) => {
      const r = await voices.list(request.userId, request.body ?? {});
      return {
        code: 200,
        message: r.voices.length ? 'get voice success' : 'no voice found',
        has_next: r.hasNext,
        voices: r.voices,
      };
    },
  );

  app.get(
    '/my_voices',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        response: responses({ 200: envelope({ voices: Type.Array(VoiceObject) }) }),
      },
    },
    async (request) => {
      const list = await voices.mine(request.userId);
      return {
        code: 200,
        message: list.length ? 'get my voices success' : 'no voice found',
        voices: list,
      };
    },
  );

  app.post(
    '/verify_voice',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        body: VerifyBody,
        response: responses({ 200: envelope({ voice: VoiceObject, can_access: Type.Boolean() }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'voice verification success',
      voice: await voices.verify(request.userId, request.body.voice_id),
      can_access: true,
    }),
  );

  app.get(
    '/:voice_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: one voice with its status (pending and failed voices only for their owner).',
        params: VoiceParams,
        response: responses({ 200: envelope({ voice: VoiceObject }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'get voice success',
      voice: await voices.get(request.userId, request.params.voice_id),
    }),
  );

  app.put(
    '/:voice_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: update name, gender, description or public flag (owner only).',
        params: VoiceParams,
        body: UpdateVoiceBody,
        response: responses({ 200: envelope({ voice: VoiceObject }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'update voice success',
      voice: await voices.update(request.userId, request.params.voice_id, request.body),
    }),
  );

  app.delete(
    '/:voice_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: deletes the voice, its audition clip and (through a retried job) the provider voice.',
        params: VoiceParams,
        response: responses({ 200: envelope({ voice_id: Type.String() }) }),
      },
    },
    async (request) => {
      await voices.delete(request.userId, request.params.voice_id);
      return { code: 200, message: 'delete voice success', voice_id: request.params.voice_id };
    },
  );

  app.get(
    '/:voice_id/audition',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: streams the audition clip of a voice you may use (Range supported).',
        params: VoiceParams,
        headers: ConditionalHeaders,
        response: responses({ 200: Binary, 206: Binary, 304: Binary }),
      },
    },
    async (request, reply) =>
      sendDownload(
        reply,
        await voices.audition(
          request.userId,
          request.params.voice_id,
          conditionalHeaders(request.headers),
        ),
      ),
  );

  app.post(
    '/:voice_id/synthesize',
    {
      config: { rateLimitProfile: 'synthesize' },
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description: '**new**: speaks `text` with a voice you may use; streams audio.',
        params: VoiceParams,
        body: SynthesizeBody,
        response: responses({ 200: Binary }),
      },
    },
    async (request, reply) => {
      const r = await voices.synthesize(request.userId, request.params.voice_id, request.body, {
        signal: clientGoneSignal(reply),
      });
      return reply.status(200).type(r.contentType).send(Readable.from(r.stream));
    },
  );

  app.get(
    '/:voice_id/shares',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        params: VoiceParams,
        response: responses({ 200: envelope({ shares: Type.Array(ShareItem) }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'get shares success',
      shares: await voices.shares(request.userId, request.params.voice_id),
    }),
  );

  app.post(
    '/:voice_id/shares',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        description:
          '**new**: share a voice with a user (by `user_id`, or `identifier` and `type`).',
        params: VoiceParams,
        body: ShareBody,
        response: responses({ 200: envelope({ share: ShareItem }) }),
      },
    },
    async (request) => ({
      code: 200,
      message: 'share voice success',
      share: await voices.share(request.userId, request.params.voice_id, request.body),
    }),
  );

  app.delete(
    '/:voice_id/shares/:user_id',
    {
      schema: {
        tags: ['voices'],
        security: [{ bearer: [] }],
        params: ShareParams,
        response: responses({ 200: envelope({}) }),
      },
    },
    async (request) => {
      await voices.unshare(request.userId, request.params.voice_id, request.params.user_id);
      return { code: 200, message: 'revoke share success' };
    },
  );
};
